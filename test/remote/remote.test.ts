// RemoteOutliers against a real python/grpc_server.py child process.
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ClosedError,
  Outliers,
  PythonError,
  RemoteError,
  RemoteOutliers,
  ResultError,
  startGrpcServer,
  type GrpcServer,
} from '../../src/index.js';
import { PROBE_DIR, ROOT, seedCase, uniform } from '../helpers.js';
import { spawnAsync } from '../spawn.js';

let detectServer: GrpcServer;
const probeServers = new Map<string, GrpcServer>();

async function probeRemote(funcName: string, deadlineMs?: number): Promise<RemoteOutliers> {
  let server = probeServers.get(funcName);
  if (server === undefined) {
    server = await startGrpcServer({ moduleName: 'probe', funcName, paths: [PROBE_DIR] });
    probeServers.set(funcName, server);
  }
  return new RemoteOutliers(server.address, deadlineMs === undefined ? {} : { deadlineMs });
}

beforeAll(async () => {
  detectServer = await startGrpcServer();
});

afterAll(async () => {
  await Promise.all([detectServer, ...probeServers.values()].map((s) => s?.stop()));
});

describe('RemoteOutliers', () => {
  it('finds the seed outliers, as in-process does', async () => {
    const remote = new RemoteOutliers(detectServer.address);
    expect(Array.from(await remote.detect(seedCase()))).toEqual([7, 113, 835]);
    remote.close();
  });

  it('equals the in-process result on random data, subarrays included', async () => {
    const remote = new RemoteOutliers(detectServer.address);
    const local = new Outliers();
    for (const length of [10, 1000, 100_000]) {
      const values = uniform(length + 16, length);
      for (let i = 0; i < values.length; i += 97) values[i] = values[i]! * 30;
      const view = values.subarray(8, 8 + length);
      expect(Array.from(await remote.detect(view))).toEqual(Array.from(local.detect(view)));
    }
    remote.close();
  });

  it('carries 10M values (message limits raised on both sides)', async () => {
    const values = new Float64Array(10_000_000);
    for (let i = 0; i < values.length; i++) values[i] = (i % 100) / 100;
    values[4_242_424] = 1e9;
    const remote = new RemoteOutliers(detectServer.address);
    expect(Array.from(await remote.detect(values))).toEqual([4_242_424]);
    remote.close();
  }, 120_000);

  it('empty input returns an empty result', async () => {
    const remote = new RemoteOutliers(detectServer.address);
    expect((await remote.detect(new Float64Array(0))).length).toBe(0);
    remote.close();
  });

  it('rejects wrong input with TypeError', async () => {
    const remote = new RemoteOutliers(detectServer.address);
    await expect(remote.detect([1, 2] as unknown as Float64Array)).rejects.toThrow(TypeError);
    remote.close();
  });

  it('a Python exception arrives as PythonError, with type and traceback', async () => {
    const remote = await probeRemote('raise_value_error');
    const error = await remote.detect(new Float64Array(4)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PythonError);
    expect((error as PythonError).type).toBe('ValueError');
    expect((error as PythonError).message).toBe('bad data of length 4');
    expect((error as PythonError).traceback).toMatch(/in raise_value_error/);
    expect((error as Error).stack).toMatch(/remote\.test\.ts/); // the JS call site
    remote.close();
  });

  it('the function gets read-only values, sent in one piece or in several', async () => {
    // 200k values are 1.6 MB: two pieces of the stream, put together on the server.
    const remote = await probeRemote('write_input');
    for (const length of [10, 200_000]) {
      const error = await remote.detect(new Float64Array(length)).catch((e: unknown) => e);
      expect(error, `length ${length}`).toBeInstanceOf(PythonError);
      expect((error as PythonError).message).toMatch(/read-only/);
    }
    remote.close();
  });

  it('SystemExit in the function does not stop the server', async () => {
    const remote = await probeRemote('raise_system_exit');
    for (let i = 0; i < 2; i++) {
      const error = await remote.detect(new Float64Array(2)).catch((e: unknown) => e);
      expect((error as PythonError).type).toBe('SystemExit');
    }
    remote.close();
  });

  it('a bad result arrives as ResultError, with the same rules as in-process', async () => {
    for (const [name, message] of [
      ['returns_out_of_range', /index 5 at position 1 is outside \[0, 5\)/],
      ['returns_mask', /boolean array/],
      ['returns_float_array', /dtype float64/],
    ] as const) {
      const remote = await probeRemote(name);
      const error = await remote.detect(new Float64Array(5)).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(ResultError);
      expect((error as Error).message).toMatch(message);
      remote.close();
    }
  });

  it('an unreachable server gives a clear RemoteError, quickly', async () => {
    const remote = new RemoteOutliers('127.0.0.1:1', { deadlineMs: 5000 });
    const started = Date.now();
    const error = await remote.detect(seedCase()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toMatch(/127\.0\.0\.1:1: cannot reach the server/);
    expect((error as RemoteError).grpcStatus).toBe(14);
    expect((error as RemoteError).code).toBe('ERR_PY_OUTLIERS_REMOTE');
    expect(Date.now() - started).toBeLessThan(5000);
    remote.close();
  });

  it('a server that does not answer in time gives a deadline RemoteError, not a hang', async () => {
    const remote = await probeRemote('sleep_long', 300);
    const started = Date.now();
    const error = await remote.detect(new Float64Array([3])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toMatch(/no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2500);
    remote.close();
  });

  it('close() is idempotent and later calls reject with ClosedError', async () => {
    const remote = new RemoteOutliers(detectServer.address);
    remote.close();
    remote.close();
    await expect(remote.detect(seedCase())).rejects.toThrow(ClosedError);
  });

  it('startGrpcServer loads neither the addon nor libpython into the starting process', async () => {
    // A client-only program (RemoteOutliers, startGrpcServer) needs no Python of its own; a
    // fresh process, since this test process has both loaded.
    const script = `
      const fs = require('node:fs');
      const lib = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      (async () => {
        const server = await lib.startGrpcServer();
        const remote = new lib.RemoteOutliers(server.address);
        const found = await remote.detectAsync(new Float64Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 50]));
        remote.close();
        await server.stop();
        const maps = fs.readFileSync('/proc/self/maps', 'utf8');
        console.log(JSON.stringify({
          found: [...found],
          addon: maps.includes('py_outliers'),
          libpython: /libpython/.test(maps),
        }));
      })();`;
    const ran = await spawnAsync(process.execPath, ['-e', script], { timeoutMs: 60_000 });
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual({ found: [9], addon: false, libpython: false });
  });

  it('stop() ends the server process', async () => {
    const server = await startGrpcServer();
    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
  });
});
