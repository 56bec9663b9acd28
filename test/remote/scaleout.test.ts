// Scale-out on gRPC: the raw-bytes RPC, many backends balanced by grpc-js, a multi-process
// server, failover, TLS, the health service. Real python/grpc_server.py processes throughout.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, describe, expect, it } from 'vitest';

import {
  Outliers,
  RemoteError,
  RemoteOutliers,
  startGrpcServer,
  type GrpcServer,
  type GrpcServerOptions,
} from '../../src/index.js';
import { PROBE_DIR, ROOT, seedCase, selfSignedCertificate, uniform } from '../helpers.js';

const started: GrpcServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function server(options: GrpcServerOptions = {}): Promise<GrpcServer> {
  const s = await startGrpcServer(options);
  started.push(s);
  return s;
}

/** A server whose function answers with its own pid, as digits (test/python/probe.py). */
function pidServer(options: GrpcServerOptions = {}, funcName = 'pid_digits'): Promise<GrpcServer> {
  return server({ moduleName: 'probe', funcName, paths: [PROBE_DIR], ...options });
}

const TEN = new Float64Array(10);
const pidOf = (indices: Int32Array): number => Number(Array.from(indices).join(''));
const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

/** grpc-js clients of the two protos, for what RemoteOutliers never sends. */
function loadProto(file: string): grpc.GrpcObject {
  const options = { defaults: true, enums: String };
  return grpc.loadPackageDefinition(protoLoader.loadSync(path.join(ROOT, 'python', file), options));
}
type Unary = (
  request: object,
  callback: (error: grpc.ServiceError | null, reply?: Record<string, unknown>) => void,
) => void;
function rawClient(address: string, service: 'health' | 'outliers'): Record<string, Unary> {
  const Client =
    service === 'health'
      ? ((loadProto('health.proto').grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1
      : loadProto('detect.proto').py_outliers;
  const name = service === 'health' ? 'Health' : 'Outliers';
  const Constructor = (Client as grpc.GrpcObject)[name] as grpc.ServiceClientConstructor;
  return new Constructor(address, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    Unary
  >;
}
function call(client: Record<string, Unary>, method: string, request: object) {
  return new Promise<Record<string, unknown>>((resolve, reject) =>
    client[method]!.call(client, request, (error, reply) =>
      error ? reject(error) : resolve(reply!),
    ),
  );
}

describe('the raw-bytes RPC', () => {
  it('gives the in-process result at every size, and the repeated-double RPC agrees', async () => {
    const s = await server();
    const raw = new RemoteOutliers(s.address);
    const repeated = new RemoteOutliers(s.address, { encoding: 'repeated-double' });
    const local = new Outliers();
    expect(Array.from(await raw.detect(seedCase()))).toEqual([7, 113, 835]);
    for (const length of [1, 10, 1000, 100_000, 1_000_000]) {
      const values = uniform(length, length);
      for (let i = 0; i < length; i += 997) values[i] = values[i]! * 40;
      const expected = Array.from(local.detect(values));
      expect(Array.from(await raw.detect(values)), String(length)).toEqual(expected);
      expect(Array.from(await repeated.detect(values)), String(length)).toEqual(expected);
    }
    raw.close();
    repeated.close();
  });

  it('sends exactly the view: a Float64Array at an odd 8-byte offset of a larger buffer', async () => {
    const s = await server();
    const remote = new RemoteOutliers(s.address);
    const buffer = new ArrayBuffer(8 * 1003);
    const whole = new Float64Array(buffer);
    whole.set(uniform(1003));
    whole[0] = 1e9; // outside the view: must not be seen
    whole[1002] = -1e9;
    const view = new Float64Array(buffer, 8 * 3, 999); // byteOffset 24
    view[500] = 1e6;
    expect(Array.from(await remote.detect(view))).toEqual([500]);
    // Special values travel bit for bit: NaN makes numpy's mean NaN, hence no outliers.
    view[7] = Number.NaN;
    expect(Array.from(await remote.detect(view))).toEqual([]);
    remote.close();
  });

  it('the server puts the pieces together, refuses values that are not whole float64s, and keeps serving', async () => {
    const s = await server();
    const client = rawClient(s.address, 'outliers') as unknown as grpc.Client & {
      DetectRaw(callback: (e: grpc.ServiceError | null, r?: { indices: Buffer }) => void): grpc.ClientWritableStream<object>;
    }; // prettier-ignore
    const send = (pieces: Buffer[]) =>
      new Promise<{ indices: Buffer }>((resolve, reject) => {
        const stream = client.DetectRaw((e, r) => (e ? reject(e) : resolve(r!)));
        for (const values of pieces) stream.write({ values });
        stream.end();
      });
    const error = (await send([Buffer.alloc(5), Buffer.alloc(7)]).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/12 bytes is not a multiple of 8/);
    // Pieces need not end on a value boundary: 3 + 21 + 56 bytes are 10 values.
    const values = new Float64Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1e6]);
    const whole = Buffer.from(values.buffer);
    const reply = await send([whole.subarray(0, 3), whole.subarray(3, 24), whole.subarray(24)]);
    expect(Array.from(new Int32Array(Uint8Array.from(reply.indices).buffer))).toEqual([9]);
    // A stream with no pieces is no values (RemoteOutliers makes no call for those).
    expect((await send([])).indices.length).toBe(0);
    client.close();
  });

  it('the client refuses a reply that breaks the protocol, with a RemoteError', async () => {
    // A server that breaks the protocol, in grpc-js: a reply header that is no MessagePack.
    const fake = new grpc.Server();
    const services = loadProto('detect.proto').py_outliers as grpc.GrpcObject;
    fake.addService((services.Functions as grpc.ServiceClientConstructor).service, {
      Call: (call: grpc.ServerDuplexStream<object, object>) => {
        call.on('data', () => {});
        call.on('end', () => {
          call.write({ header: Buffer.from([0xc1]) }); // a tag MessagePack never uses
          call.end();
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      fake.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const remote = new RemoteOutliers(`127.0.0.1:${port}`);
    const error = await remote.detect(new Float64Array(3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toMatch(/broke the protocol/);
    expect((error as RemoteError).grpcStatus).toBe(grpc.status.INTERNAL);
    remote.close();
    fake.forceShutdown();
  });
});

describe('many backends', () => {
  it('balances round-robin over a list of three servers', async () => {
    const servers = await Promise.all([pidServer(), pidServer(), pidServer()]);
    const remote = new RemoteOutliers(servers.map((s) => s.address));
    const seen = new Map<number, number>();
    for (let i = 0; i < 60; i++) {
      const pid = pidOf(await remote.detect(TEN));
      seen.set(pid, (seen.get(pid) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(servers.map((s) => s.pid).sort());
    for (const count of seen.values()) expect(count).toBeGreaterThanOrEqual(10); // about 20 each
    remote.close();
  });

  it('refuses address lists it cannot hand to grpc-js, saying what to use', () => {
    expect(() => new RemoteOutliers([])).toThrow(TypeError);
    expect(() => new RemoteOutliers(['backend-1:50051', 'backend-2:50051'])).toThrow(/dns:\/\/\//);
    expect(() => new RemoteOutliers(['127.0.0.1:1', '[::1]:2'])).toThrow(/all IPv4 or all IPv6/);
    expect(() => new RemoteOutliers('')).toThrow(TypeError);
    expect(() => new RemoteOutliers('127.0.0.1:1', { connections: 0 })).toThrow(TypeError);
    // A one-entry list is that target, host name or not; nothing connects before a call.
    new RemoteOutliers(['localhost:1']).close();
    new RemoteOutliers(['127.0.0.1:1', '127.0.0.1:2']).close();
  });

  it('loses no call when one of three backends is killed mid-stream, and uses it again when it comes back', async () => {
    const servers = await Promise.all([1, 2, 3].map(() => pidServer({}, 'pid_digits_slowly')));
    const pids = servers.map((s) => s.pid);
    const remote = new RemoteOutliers(
      servers.map((s) => s.address),
      { deadlineMs: 20_000, channelOptions: { 'grpc.initial_reconnect_backoff_ms': 200 } },
    );
    const victim = servers[1]!;
    let done = 0;
    const results: number[] = [];
    const lane = async () => {
      while (done < 300) {
        done++;
        results.push(pidOf(await remote.detect(TEN)));
        if (done === 60) process.kill(victim.pid, 'SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    expect(results.length).toBeGreaterThanOrEqual(300);
    for (const pid of results) expect(pids).toContain(pid); // each call: a right answer
    const afterKill = results.slice(100);
    expect(afterKill).not.toContain(victim.pid);
    expect(new Set(afterKill).size).toBe(2);

    // It comes back on its port: within the reconnect backoff, calls reach it again.
    const back = await pidServer({ port: portOf(victim.address) }, 'pid_digits_slowly');
    const deadline = Date.now() + 15_000;
    let reached = false;
    while (!reached && Date.now() < deadline) {
      const batch = await Promise.all(Array.from({ length: 6 }, () => remote.detect(TEN)));
      reached = batch.some((r) => pidOf(r) === back.pid);
    }
    expect(reached).toBe(true);
    remote.close();
  }, 60_000);

  it('with every backend down, a call fails with RemoteError quickly, not at its deadline', async () => {
    const servers = await Promise.all([pidServer(), pidServer()]);
    const remote = new RemoteOutliers(
      servers.map((s) => s.address),
      { deadlineMs: 20_000 },
    );
    await remote.detect(TEN); // connected
    await Promise.all(servers.map((s) => s.stop()));
    const t0 = Date.now();
    const error = await remote.detect(TEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).grpcStatus).toBe(grpc.status.UNAVAILABLE);
    // Five attempts with backoff up to 1 s between them: a few seconds at most, far from 20.
    expect(Date.now() - t0).toBeLessThan(10_000);
    remote.close();
  }, 30_000);
});

describe('grpc_server.py', () => {
  it('--workers 2 serves one port from two processes, and one client reaches both', async () => {
    const s = await pidServer({ workers: 2, host: '0.0.0.0', insecure: true });
    expect(s.address).toBe(`127.0.0.1:${portOf(s.address)}`);
    // The kernel gives each connection to a worker at random: with 16 connections, the chance
    // that all land on one worker is 2^-15.
    const remote = new RemoteOutliers(s.address, { connections: 16 });
    const pids = new Set<number>();
    for (let i = 0; i < 64; i++) pids.add(pidOf(await remote.detect(TEN)));
    expect(pids.size).toBe(2);
    expect(pids.has(s.pid)).toBe(false); // the supervisor serves nothing itself
    remote.close();
    await s.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(); // workers gone too
  }, 60_000);

  it('a second server cannot start on a port in use', async () => {
    const s = await server();
    await expect(server({ port: portOf(s.address) })).rejects.toThrow(/cannot listen/);
  });

  it('serves TLS with a certificate made here; plain and untrusting clients are refused', async () => {
    const { dir, key, cert } = selfSignedCertificate();
    const s = await server({ tlsCert: cert, tlsKey: key });
    // By name: grpc-js would pass an IP as the TLS server name, which Node deprecates.
    const byName = `localhost:${portOf(s.address)}`;
    const trusting = new RemoteOutliers(byName, { tls: { ca: fs.readFileSync(cert) } });
    expect(Array.from(await trusting.detect(seedCase()))).toEqual([7, 113, 835]);
    for (const options of [{ deadlineMs: 3000 }, { deadlineMs: 3000, tls: {} }]) {
      const refused = new RemoteOutliers(byName, options);
      expect(await refused.detect(seedCase()).catch((e: unknown) => e)).toBeInstanceOf(RemoteError);
      refused.close();
    }
    trusting.close();
    fs.rmSync(dir, { recursive: true });
  });

  it('answers the standard grpc.health.v1 Check', async () => {
    const s = await server();
    const health = rawClient(s.address, 'health');
    for (const service of ['', 'py_outliers.Outliers']) {
      expect(await call(health, 'Check', { service })).toEqual({ status: 'SERVING' });
    }
    const error = (await call(health, 'Check', { service: 'nope' }).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    (health as unknown as grpc.Client).close();
  });
});

describe('only users of the remote path load gRPC', () => {
  it('import and an in-process detect load no @grpc package; RemoteOutliers does', () => {
    const script = `
      const loaded = () => Object.keys(require.cache).some((f) => f.includes('@grpc'));
      const po = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const a = loaded();
      new po.Outliers().detect(new Float64Array([1, 2, 3]));
      const b = loaded();
      new po.RemoteOutliers('127.0.0.1:1').close();
      console.log(JSON.stringify([a, b, loaded()]));`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual([false, false, true]);
  });
});
