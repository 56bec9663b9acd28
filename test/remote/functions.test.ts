// PythonFunction and Outliers with { remote }: the same values, errors and cancellation as
// in-process, on real python/grpc_server.py processes, and only what a server exports.
import fs from 'node:fs';

import type { StatusObject } from '@grpc/grpc-js';
import { decode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AbortError,
  ClosedError,
  Outliers,
  ProcessPool,
  PythonError,
  PythonFunction,
  Remote,
  RemoteError,
  ResultError,
  startGrpcServer,
  type GrpcServer,
  type GrpcServerOptions,
} from '../../src/index.js';
import { grpcPackages, type Piece } from '../../src/grpc-channel.js';
import { encodeMessage } from '../../src/pool-wire.js';
import { PROBE_DIR, seedCase, selfSignedCertificate } from '../helpers.js';
import { BAD_RESULT_KINDS, inProcessBadResultMessage, valueCases } from '../value-cases.js';

const cases = valueCases();
const FUNCTIONS = [...new Set([...cases.map(([name]) => name), 'bad'])];
const EXPORTS = [
  ...FUNCTIONS.map((name) => `functions:${name}`),
  'pool_faults:spin',
  'probe:pid_digits_slowly',
  'builtins:int',
  'numpy:negative',
  'numpy:linalg.norm',
  'outliers:detect',
];

const started: GrpcServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function server(options: GrpcServerOptions = {}): Promise<GrpcServer> {
  const s = await startGrpcServer({ paths: [PROBE_DIR], exports: EXPORTS, ...options });
  started.push(s);
  return s;
}

let main: GrpcServer;
let remote: Remote;
beforeAll(async () => {
  main = await server({ threads: 4 });
  remote = new Remote(main.address);
});
afterAll(() => remote.close());
const remoteFunction = (module: string, name: string) =>
  new PythonFunction(module, name, { remote });
const grpcStatus = (error: unknown) => (error as RemoteError).grpcStatus;

describe('values', () => {
  const inProcess = (name: string) => new PythonFunction('functions', name, { paths: [PROBE_DIR] });

  it.each(cases)('%s gives what it gives in-process', async (name, args, kwargs, int64) => {
    const options = int64 === undefined ? undefined : { int64 };
    const call = () =>
      remoteFunction('functions', name).callAsync(args as never, kwargs as never, options);
    let expected: unknown;
    try {
      expected = inProcess(name).call(args as never, kwargs as never, options);
    } catch (error) {
      await expect(call()).rejects.toThrow((error as Error).message);
      return;
    }
    expect(await call()).toEqual(expected);
  });

  it('bad results are ResultErrors with the in-process messages', async () => {
    for (const kind of BAD_RESULT_KINDS) {
      const message = inProcessBadResultMessage(kind);
      const error = await remoteFunction('functions', 'bad')
        .callAsync([kind])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResultError);
      expect([kind, (error as Error).message]).toEqual([kind, message]);
    }
  });

  it('a Python exception is a PythonError with its type and traceback', async () => {
    const error = await remoteFunction('builtins', 'int')
      .callAsync(['x'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PythonError);
    expect(error).toMatchObject({ type: 'ValueError' });
    expect((error as PythonError).message).toMatch(/invalid literal/);
    expect((error as PythonError).traceback).toMatch(/ValueError/);
  });

  it('10M float64 values in and out, as their bytes', async () => {
    const values = new Float64Array(10_000_000).map((_, i) => i * 0.5);
    const out = (await remoteFunction('numpy', 'negative').callAsync([values])) as Float64Array;
    expect(out).toBeInstanceOf(Float64Array);
    expect(out.length).toBe(values.length);
    for (const i of [0, 1, 4_999_999, 9_999_999]) expect(out[i]).toBe(-values[i]!);
  }, 60_000);

  it('Outliers: detectAsync gives in-process detect', async () => {
    const detector = new Outliers('outliers', 'detect', { remote });
    expect(Array.from(await detector.detectAsync(seedCase()))).toEqual([7, 113, 835]);
    expect(await detector.detectAsync(new Float64Array(0))).toEqual(new Int32Array(0));
    expect(() => detector.detect(seedCase())).toThrow(/detectAsync/);
  });

  it('keyword arguments and float32 arrays, as numpy.linalg.norm takes them', async () => {
    const norm = remoteFunction('numpy', 'linalg.norm');
    expect(await norm.callAsync([new Float32Array([3, 4])])).toBeCloseTo(5, 5);
    expect(await norm.callAsync([new Float64Array([1, 1, 1, 1])], { ord: 1 })).toBe(4);
    expect(() => norm.call([new Float64Array(2)])).toThrow(/callAsync/);
  });
});

describe('what a server serves', () => {
  it('a function it does not export is NOT_FOUND, named, and never imported', async () => {
    const error = await remoteFunction('os', 'system')
      .callAsync(['true'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(grpcStatus(error)).toBe(5);
    expect((error as Error).message).toMatch(/os:system is not exported/);
  });

  it('refuses to listen beyond loopback without TLS, unless told insecure', async () => {
    await expect(server({ host: '0.0.0.0' })).rejects.toThrow(/without TLS/);
    const open = await server({ host: '0.0.0.0', insecure: true });
    const viaOpen = new PythonFunction('builtins', 'int', { remote: open.address });
    expect(await viaOpen.callAsync(['7'])).toBe(7);
    viaOpen.close();
  });

  it('checks a token on every call', async () => {
    const guarded = await server({ token: 's3cret' });
    const call = (token?: string) =>
      new PythonFunction('builtins', 'int', {
        remote: guarded.address,
        ...(token === undefined ? {} : { token }),
      })
        .callAsync(['5'])
        .catch((e: unknown) => e);
    expect(grpcStatus(await call())).toBe(16); // UNAUTHENTICATED
    expect(grpcStatus(await call('wrong'))).toBe(16);
    expect(await call('s3cret')).toBe(5);
  });

  it('serves TLS to PythonFunction', async () => {
    const { dir, key, cert } = selfSignedCertificate();
    const s = await server({ host: '0.0.0.0', tlsCert: cert, tlsKey: key });
    const port = s.address.slice(s.address.lastIndexOf(':') + 1);
    const f = new PythonFunction('builtins', 'int', {
      remote: `localhost:${port}`,
      tls: { ca: fs.readFileSync(cert) },
    });
    expect(await f.callAsync(['9'])).toBe(9);
    f.close();
    fs.rmSync(dir, { recursive: true });
  });
});

describe('the wire', () => {
  /** A raw Functions call of functions:echo(value): the reply's pieces and trailing metadata. */
  async function rawCall(value: unknown, replyInTrailer: boolean, idempotent = false) {
    const { grpc, Functions } = grpcPackages();
    const client = new Functions(main.address, grpc.credentials.createInsecure());
    try {
      const metadata = new grpc.Metadata();
      if (replyInTrailer) metadata.set('py-outliers-reply-in-trailer', '1');
      if (idempotent) metadata.set('py-outliers-idempotent', '1');
      const stream = client.Call(metadata, {});
      let started = false;
      stream.on('metadata', (m) => (started = m.get('py-outliers-started').length > 0));
      const pieces: Piece[] = [];
      stream.on('data', (piece: Piece) => pieces.push(piece));
      const status = new Promise<StatusObject>((resolve) => stream.on('status', resolve));
      stream.on('error', () => {});
      stream.end({ header: encodeMessage(['functions:echo', [value], {}, 0, 0, false]) });
      const { code, metadata: trailers } = await status;
      expect(code).toBe(grpc.status.OK);
      const headers = pieces.map((p) => p.header).filter((h) => h !== undefined && h.length > 0);
      return { headers, trailer: trailers.get('py-outliers-reply-in-trailer-bin'), started };
    } finally {
      client.close();
    }
  }

  it('the server says a call started, unless the call is of an idempotent function', async () => {
    expect((await rawCall(1, true)).started).toBe(true);
    expect((await rawCall(1, true, true)).started).toBe(false);
  });

  it('a small reply comes in the trailing metadata only to a client that asks for it', async () => {
    const asked = await rawCall('hello', true);
    expect(asked.headers).toEqual([]);
    expect(decode(asked.trailer[0] as Buffer)).toEqual([0, 'hello']);
    // A client that does not ask (an older one) gets the reply as a message, as before.
    const old = await rawCall('hello', false);
    expect(old.trailer).toEqual([]);
    expect(old.headers.map((h) => decode(h!))).toEqual([[0, 'hello']]);
    // A reply too large for metadata is a message even to a client that asks.
    const big = await rawCall('x'.repeat(10_000), true);
    expect(big.trailer).toEqual([]);
    expect(big.headers.map((h) => decode(h!))).toEqual([[0, 'x'.repeat(10_000)]]);
  });
});

describe('cancellation and lifetime', () => {
  it('an abort interrupts the call on the server, whose thread is free again', async () => {
    const solo = await server({ threads: 1 });
    const spin = new PythonFunction('pool_faults', 'spin', { remote: solo.address });
    const t0 = Date.now();
    const aborted = spin.callAsync([30], undefined, { signal: AbortSignal.timeout(300) });
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    // One thread: this call runs only once the aborted one has stopped. Far below its 30 s.
    expect(await spin.callAsync([0])).toBeGreaterThanOrEqual(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    spin.close();
  });

  it('close(): calls of a closed Remote reject with ClosedError', async () => {
    const own = new Remote(main.address);
    const f = new PythonFunction('builtins', 'int', { remote: own });
    expect(await f.callAsync(['1'])).toBe(1);
    own.close();
    await expect(f.callAsync(['1'])).rejects.toBeInstanceOf(ClosedError);
    expect(() => new PythonFunction('builtins', 'int', { remote: own })).toThrow(ClosedError);
  });

  it('refuses options that do not go together', () => {
    const pool = new ProcessPool({ processes: 1 });
    expect(() => new PythonFunction('builtins', 'int', { remote, pool })).toThrow(TypeError);
    expect(() => new PythonFunction('builtins', 'int', { remote, paths: ['/x'] })).toThrow(/own/);
    expect(() => new PythonFunction('builtins', 'int', { remote, token: 't' })).toThrow(TypeError);
    expect(() => new PythonFunction('builtins', 'int', { token: 't' })).toThrow(TypeError);
    void pool.close();
  });

  /** 300 calls, 16 in flight, over 3 servers; the second is SIGKILLed after 60 calls. */
  async function killOneOfThree(idempotent: boolean) {
    const servers = await Promise.all([1, 2, 3].map(() => server()));
    const pids = servers.map((s) => s.pid);
    const spread = new Remote(
      servers.map((s) => s.address),
      { deadlineMs: 20_000, channelOptions: { 'grpc.initial_reconnect_backoff_ms': 200 } },
    );
    const pid = new PythonFunction('probe', 'pid_digits_slowly', { remote: spread, idempotent });
    const victim = servers[1]!;
    const TEN = new Float64Array(10);
    let done = 0;
    const results: number[] = [];
    let failed = 0;
    const lane = async () => {
      while (done < 300) {
        done++;
        try {
          const digits = (await pid.callAsync([TEN])) as number[];
          results.push(Number(digits.join('')));
        } catch (error) {
          // Only a call running on the victim when it died: it may have run, so it fails
          // (UNAVAILABLE or INTERNAL, as the connection's end reached grpc-js).
          expect([13, 14]).toContain(grpcStatus(error));
          failed++;
        }
        if (done === 60) process.kill(victim.pid, 'SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    spread.close();
    for (const p of results) expect(pids).toContain(p); // each answer right
    expect(results.slice(100)).not.toContain(victim.pid);
    expect(results.length + failed).toBeGreaterThanOrEqual(300);
    return { results, failed };
  }

  it('a server killed mid-stream: a call is tried again only where it cannot have run', async () => {
    const { failed } = await killOneOfThree(false);
    // At most the calls running there (its 2 threads); the ones it had not started ran
    // elsewhere.
    expect(failed).toBeLessThanOrEqual(2);
  }, 60_000);

  it('idempotent: a call that may have run on the lost server is tried again too', async () => {
    const { failed } = await killOneOfThree(true);
    expect(failed).toBe(0);
  }, 60_000);

  it('refuses an idempotent option that is not a boolean', () => {
    expect(
      () => new PythonFunction('probe', 'pid_digits', { remote, idempotent: 'yes' as never }),
    ).toThrow(new TypeError('options.idempotent must be a boolean'));
  });
});
