// ProcessPool: the same calls as in-process, in worker processes (docs/processes.md). Real
// processes, no mocks: every fault below happens to a real python.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  AbortError,
  ClosedError,
  Outliers,
  ProcessExitError,
  ProcessPool,
  PythonError,
  PythonFunction,
  PythonStartError,
  ResultError,
  ndarray,
} from '../../src/index.js';
import { BUILD_PYTHON, PROBE_DIR, ROOT, uniform } from '../helpers.js';
import { BAD_RESULT_KINDS, inProcessBadResultMessage, valueCases } from '../value-cases.js';

const paths = [PROBE_DIR];
// The workers run none of our native code: under `make asan` they must not preload its
// runtime either (ASan would turn a worker's SIGSEGV into its own report and SIGABRT).
const env = { ...process.env, LD_PRELOAD: undefined };
const base = { python: BUILD_PYTHON, env };
const pool = new ProcessPool({ ...base, processes: 2, killAfterMs: 500 });
afterAll(() => pool.close());

const fault = (name: string, p: ProcessPool = pool) =>
  new PythonFunction('pool_faults', name, { pool: p, paths });

/** Whether `pid` runs: it exists and is not a zombie (a dead process not yet reaped). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether `pid` is gone from the process table (reaped), or waits to be. */
function reaped(pid: number): boolean {
  return !fs.existsSync(`/proc/${pid}`);
}

describe('values', () => {
  const inProcess = (name: string) => new PythonFunction('functions', name, { paths });
  const pooled = (name: string) => new PythonFunction('functions', name, { paths, pool });

  const cases = valueCases();

  it.each(cases)('%s gives what it gives in-process', async (name, args, kwargs, int64) => {
    const options = int64 === undefined ? undefined : { int64 };
    let expected: unknown;
    try {
      expected = inProcess(name).call(args as never, kwargs as never, options);
    } catch (error) {
      await expect(pooled(name).callAsync(args as never, kwargs as never, options)).rejects.toThrow(
        (error as Error).message,
      );
      return;
    }
    expect(await pooled(name).callAsync(args as never, kwargs as never, options)).toEqual(expected);
  });

  it('every case at once, sent ahead (their inputs staged): the in-process results', async () => {
    const ahead = new ProcessPool({ ...base, processes: 1, sendAhead: true });
    const settled = await Promise.allSettled(
      cases.map(([name, args, kwargs, int64]) =>
        new PythonFunction('functions', name, { paths, pool: ahead }).callAsync(
          args as never,
          kwargs as never,
          int64 === undefined ? undefined : { int64 },
        ),
      ),
    );
    cases.forEach(([name, args, kwargs, int64], k) => {
      let expected: unknown;
      try {
        expected = inProcess(name).call(
          args as never,
          kwargs as never,
          int64 === undefined ? undefined : { int64 },
        );
      } catch (error) {
        expect(settled[k]).toMatchObject({
          status: 'rejected',
          reason: { message: (error as Error).message },
        });
        return;
      }
      expect(settled[k], name).toEqual({ status: 'fulfilled', value: expected });
    });
    await ahead.close();
  });

  it('bad results are ResultErrors with the in-process messages', async () => {
    for (const kind of BAD_RESULT_KINDS) {
      const message = inProcessBadResultMessage(kind);
      expect(message).not.toBe('');
      const pooledError = await pooled('bad')
        .callAsync([kind])
        .catch((e: unknown) => e);
      expect(pooledError).toBeInstanceOf(ResultError);
      expect([kind, (pooledError as Error).message]).toEqual([kind, message]);
    }
  });

  it('refuses bad arguments with the TypeErrors of in-process calls', async () => {
    const bad: unknown[][] = [
      [() => 1],
      [Symbol('s')],
      [new Map()],
      [new ArrayBuffer(8)],
      [{ a: [1, new Date()] }],
      [{ data: new Float64Array(3), shape: [2, 2] }],
      [{ data: new Float64Array(4), shape: [2, -2] }],
    ];
    const detached = new Float64Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    bad.push([detached]);
    for (const args of bad) {
      let message = '';
      try {
        inProcess('echo').call(args as never);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      await expect(pooled('echo').callAsync(args as never)).rejects.toThrow(TypeError);
      await expect(pooled('echo').callAsync(args as never)).rejects.toThrow(message);
    }
  });

  it('a Python exception is a PythonError with its type and traceback', async () => {
    const error = (await pooled('bad')
      .callAsync(['raise'])
      .catch((e: unknown) => e)) as PythonError;
    expect(error).toBeInstanceOf(PythonError);
    expect(error.type).toBe('ValueError');
    expect(error.traceback).toContain('Traceback (most recent call last)');
  });

  it('an import error rejects the first call; a missing function too', async () => {
    await expect(
      new PythonFunction('no_such_module_here', 'f', { pool }).callAsync([]),
    ).rejects.toMatchObject({ type: 'ModuleNotFoundError' });
    await expect(
      new PythonFunction('functions', 'nope', { pool, paths }).callAsync([]),
    ).rejects.toMatchObject({ type: 'AttributeError' });
  });

  it('detectAsync gives in-process detect results; the sync methods name the async ones', async () => {
    const values = uniform(200_000);
    values[7] = 50;
    values[150_000] = -50;
    const here = new Outliers();
    const there = new Outliers('outliers', 'detect', { pool });
    expect(await there.detectAsync(values)).toEqual(here.detect(values));
    expect(await there.detectAsync(values.subarray(0, 100))).toEqual(
      here.detect(values.subarray(0, 100)),
    );
    expect(await there.detectAsync(new Float64Array(0))).toEqual(new Int32Array(0));
    expect(() => there.detect(values)).toThrow(/use detectAsync\(\)/);
    expect(() => pooled('echo').call([1])).toThrow(/use callAsync\(\)/);
    expect(() => there.detect(values)).toThrow(TypeError);
  });

  it('an array from allocate() reaches Python with no copy, read-only', async () => {
    const shared = pool.allocate(Float64Array, 100_000);
    shared.fill(2);
    const described = (await fault('describe').callAsync([shared])) as Record<string, unknown>;
    expect(described).toMatchObject({ readonly: true, sum: 200_000, shape: [100_000] });
    shared[0] = 1000; // the same memory: the worker sees the write
    expect(await fault('describe').callAsync([shared.subarray(0, 2)])).toMatchObject({ sum: 1002 });
  });

  it('a view the function kept is not overwritten by later calls', async () => {
    const solo = new ProcessPool({ ...base, processes: 1 });
    const first = new Float64Array(10_000).fill(1);
    const i = await fault('keep', solo).callAsync([first]);
    await fault('describe', solo).callAsync([new Float64Array(10_000).fill(9)]);
    expect(await fault('kept_first', solo).callAsync([i])).toBe(1);
    await solo.close();
  });

  it('calls that keep their small arguments do not each cost a new region', async () => {
    // A 1k-value array goes through the input region; a call that keeps it retires the region.
    // After one such call the worker's small arrays travel in the message: 60 calls that keep
    // theirs leave the worker with a region or two mapped, not 60.
    const solo = new ProcessPool({ ...base, processes: 1 });
    const ids: number[] = [];
    for (let k = 0; k < 60; k++) {
      ids.push((await fault('keep', solo).callAsync([new Float64Array(1000).fill(k)])) as number);
    }
    for (let k = 0; k < 60; k += 7) {
      expect(await fault('kept_first', solo).callAsync([ids[k]])).toBe(k);
    }
    const maps = fs.readFileSync(`/proc/${solo.pids[0]}/maps`, 'utf8');
    const regions = maps
      .split('\n')
      .filter((line) => /memfd:py-outliers( \(deleted\))?$/.test(line));
    expect(regions.length).toBeGreaterThan(0); // the first call's region, still kept
    expect(regions.length).toBeLessThanOrEqual(3);
    await solo.close();
  });
});

describe('faults cost one call', () => {
  const crashes: [string, Record<string, unknown>][] = [
    ['segfault', { signal: 'SIGSEGV', exitCode: null }],
    ['abort', { signal: 'SIGABRT', exitCode: null }],
    ['exit3', { signal: null, exitCode: 3 }],
    ['kill_self', { signal: 'SIGKILL', exitCode: null }],
  ];
  it.each(crashes)('%s: ProcessExitError, and the pool goes on', async (name, expected) => {
    const error = (await fault(name)
      .callAsync([])
      .catch((e: unknown) => e)) as ProcessExitError;
    expect(error).toBeInstanceOf(ProcessExitError);
    expect(error.code).toBe('ERR_PY_OUTLIERS_PROCESS_EXIT');
    expect(error).toMatchObject(expected);
    expect(error.pid).toBeGreaterThan(0);
    if (name === 'abort') expect(error.stderr).toContain('about to abort');
    expect(await fault('pid').callAsync([])).not.toBe(error.pid);
  });

  it('a crash beside other running calls: they finish, and no call runs twice', async () => {
    const busy = new ProcessPool({ ...base, processes: 3 });
    const slow = [1, 2].map(() => fault('sleep', busy).callAsync([0.5]));
    await new Promise((r) => setTimeout(r, 100));
    const crash = fault('segfault', busy).callAsync([]);
    const later = Array.from({ length: 6 }, () => fault('pid', busy).callAsync([]));
    await expect(crash).rejects.toBeInstanceOf(ProcessExitError);
    expect(await Promise.all(slow)).toEqual([0.5, 0.5]);
    expect((await Promise.all(later)).length).toBe(6);
    await busy.close();
  });

  it('SIGKILL from outside rejects the running call; the worker is replaced', async () => {
    const solo = new ProcessPool({ ...base, processes: 1 });
    const [pid] = [await fault('pid', solo).callAsync([])] as number[];
    const running = fault('sleep', solo).callAsync([30]);
    await new Promise((r) => setTimeout(r, 100));
    process.kill(pid!, 'SIGKILL');
    await expect(running).rejects.toMatchObject({ signal: 'SIGKILL', pid });
    expect(await fault('pid', solo).callAsync([])).not.toBe(pid);
    await solo.close();
  });

  it('an abort interrupts Python code; a call stuck in C is killed after killAfterMs', async () => {
    const spin = fault('spin').callAsync([30], undefined, { signal: AbortSignal.timeout(200) });
    await expect(spin).rejects.toBeInstanceOf(AbortError);
    const start = Date.now();
    const stuck = fault('sleep').callAsync([30], undefined, { signal: AbortSignal.timeout(200) });
    await expect(stuck).rejects.toBeInstanceOf(AbortError);
    // The kill frees the worker: later calls run. Generous margin over 200 + 500 ms: a loaded
    // CI machine starts a new python slowly.
    await Promise.all([fault('pid').callAsync([]), fault('pid').callAsync([])]);
    expect(Date.now() - start).toBeLessThan(20_000);
  });

  it('a queued call that is aborted is never sent', async () => {
    const solo = new ProcessPool({ ...base, processes: 1 });
    const first = fault('sleep', solo).callAsync([0.3]);
    const controller = new AbortController();
    const queued = fault('exit3', solo).callAsync([], undefined, { signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toBeInstanceOf(AbortError);
    expect(await first).toBe(0.3);
    const [pid] = solo.pids;
    expect(await fault('pid', solo).callAsync([])).toBe(pid);
    await solo.close();
  });

  it('recycles after maxCallsPerProcess with 8 calls in flight, losing none', async () => {
    const recycled = new ProcessPool({ processes: 2, ...base, maxCallsPerProcess: 3 });
    const pids = await Promise.all(
      Array.from({ length: 8 }, () => fault('pid', recycled).callAsync([])),
    );
    expect(pids.length).toBe(8);
    const counts = new Map<unknown, number>();
    for (const pid of pids) counts.set(pid, (counts.get(pid) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(3);
    expect(counts.size).toBeGreaterThanOrEqual(3);
    await recycled.close();
  });

  it('recycles a worker whose memory passes maxRssMb', async () => {
    const leaky = new ProcessPool({ processes: 1, ...base, maxRssMb: 150 });
    const first = await fault('leak', leaky).callAsync([200]);
    const second = await fault('pid', leaky).callAsync([]);
    expect(second).not.toBe(first);
    await leaky.close();
  });

  it('a worker that cannot start fails the calls with PythonStartError, backing off', async () => {
    const broken = new ProcessPool({ processes: 2, python: '/no/such/python' });
    const error = await fault('pid', broken)
      .callAsync([])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PythonStartError);
    expect((error as Error).message).toContain('/no/such/python');
    // During the back-off no process is started: the call fails at once.
    const t = Date.now();
    await expect(fault('pid', broken).callAsync([])).rejects.toBeInstanceOf(PythonStartError);
    expect(Date.now() - t).toBeLessThan(1000);
    expect(broken.pids).toEqual([]);
    await broken.close();
  });
});

describe('staging: the input of queued calls is copied ahead', () => {
  // 100k float64 values (800 KB) are past the staging threshold (STAGE_MIN_BYTES, 64 KiB);
  // with one worker busy, the calls behind it are staged.
  const SIZE = 100_000;
  const filled = (k: number) => new Float64Array(SIZE).fill(k);
  const sumOf = (d: unknown) => (d as { sum: number }).sum;

  /** The shared regions `pid` has mapped: its input region, and any staging region. */
  function regionsOf(pid: number): number {
    return fs
      .readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .filter((line) => /memfd:py-outliers( \(deleted\))?$/.test(line)).length;
  }

  it('each queued call sees its own values; a staged one, even once detached', async () => {
    const solo = new ProcessPool({ ...base, processes: 1 });
    const [pid] = [await fault('pid', solo).callAsync([])] as number[];
    const inputs = Array.from({ length: 12 }, (_, k) => filled(k + 1));
    const calls = inputs.map((input) => fault('describe', solo).callAsync([input]));
    // The first call went to the worker; the second, next in the queue, was copied when it was
    // made: its caller's memory no longer matters. (The third waits uncopied: one call is
    // staged per worker. Its memory is read when it is sent.)
    structuredClone(inputs[1]!.buffer, { transfer: [inputs[1]!.buffer] });
    // Mid-burst, the worker has mapped staging regions beside its own input region (the test
    // of staging itself: without it, one region).
    await calls[5];
    expect(regionsOf(pid!)).toBeGreaterThan(1);
    const sums = (await Promise.all(calls)).map(sumOf);
    expect(sums).toEqual(inputs.map((_, k) => (k + 1) * SIZE));
    // Once the pool is idle they go, from the worker's memory too, with no call to carry that.
    const deadline = Date.now() + 5000;
    while (regionsOf(pid!) > 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(regionsOf(pid!)).toBe(1);
    expect(sumOf(await fault('describe', solo).callAsync([filled(2)]))).toBe(2 * SIZE);
    await solo.close();
  });

  it('an aborted staged call is never sent, and its region serves the next', async () => {
    const solo = new ProcessPool({ ...base, processes: 1 });
    const first = fault('sleep', solo).callAsync([0.3]);
    const controller = new AbortController();
    const aborted = fault('describe', solo).callAsync([filled(5)], undefined, {
      signal: controller.signal,
    });
    const next = fault('describe', solo).callAsync([filled(6)]);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    const later = fault('describe', solo).callAsync([filled(7)]);
    expect(await first).toBe(0.3);
    expect([await next, await later].map(sumOf)).toEqual([6 * SIZE, 7 * SIZE]);
    await solo.close();
  });

  it('a crash costs one call: the staged calls run on the new worker', async () => {
    const solo = new ProcessPool({ ...base, processes: 1 });
    await fault('pid', solo).callAsync([]);
    const crash = fault('segfault', solo).callAsync([]);
    const staged = [3, 4, 5].map((k) => fault('describe', solo).callAsync([filled(k)]));
    await expect(crash).rejects.toBeInstanceOf(ProcessExitError);
    expect((await Promise.all(staged)).map(sumOf)).toEqual([3 * SIZE, 4 * SIZE, 5 * SIZE]);
    await solo.close();
  });

  it('a staged argument the function kept is not overwritten by later staged calls', async () => {
    const solo = new ProcessPool({ ...base, processes: 1 });
    const busy = fault('sleep', solo).callAsync([0.2]);
    const kept = fault('keep', solo).callAsync([filled(5)]);
    const others = [6, 7, 8, 9].map((k) => fault('describe', solo).callAsync([filled(k)]));
    await busy;
    const i = await kept;
    const more = [10, 11, 12].map((k) => fault('describe', solo).callAsync([filled(k)]));
    expect((await Promise.all([...others, ...more])).map(sumOf)).toEqual(
      [6, 7, 8, 9, 10, 11, 12].map((k) => k * SIZE),
    );
    expect(await fault('kept_first', solo).callAsync([i])).toBe(5);
    await solo.close();
  });
});

describe('sendAhead: each busy worker is sent its next call before it replies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-ahead-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  /** A file the calls of `record` append their tokens to: what ran, even in a dead worker. */
  const ledger = () => path.join(dir, `ledger-${++files}`);
  const lines = (file: string) =>
    fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('50 calls in flight on one worker: each runs once, in order, with its own result', async () => {
    const solo = new ProcessPool({ ...base, processes: 1, sendAhead: true });
    const file = ledger();
    const calls = Array.from({ length: 50 }, (_, k) =>
      k % 5 === 0
        ? fault('big', solo).callAsync([10_000, k]) // a result file (80 KB), mapped here
        : fault('record', solo).callAsync([file, k]),
    );
    const results = await Promise.all(calls);
    results.forEach((result, k) => {
      if (k % 5 === 0) expect([...(result as Float64Array)].every((v) => v === k)).toBe(true);
      else expect(result).toBe(k);
    });
    const expected = Array.from({ length: 50 }, (_, k) => k).filter((k) => k % 5 !== 0);
    expect(lines(file)).toEqual(expected.map(String));
    // The worker closed each result file once Node had mapped it: none is left but the last
    // ones, whose acknowledgement goes with the next message.
    expect(await fault('result_files', solo).callAsync([])).toBeLessThanOrEqual(1);
    await solo.close();
  });

  it('a call aborted while sent ahead is skipped: it never runs, its worker lives', async () => {
    const solo = new ProcessPool({ ...base, processes: 1, sendAhead: true, killAfterMs: 60_000 });
    const file = ledger();
    const [pid] = [await fault('pid', solo).callAsync([])] as number[];
    const first = fault('sleep', solo).callAsync([0.3]);
    const controller = new AbortController();
    const ahead = fault('record', solo).callAsync([file, 'aborted'], undefined, {
      signal: controller.signal,
    });
    const after = fault('record', solo).callAsync([file, 'after']);
    await sleep(50);
    controller.abort();
    await expect(ahead).rejects.toBeInstanceOf(AbortError);
    expect(await first).toBe(0.3);
    expect(await after).toBe('after');
    expect(lines(file)).toEqual(['after']);
    expect(await fault('pid', solo).callAsync([])).toBe(pid);
    await solo.close();
  });

  it('a crash: the call sent ahead never started, so it runs once, on the new worker', async () => {
    const solo = new ProcessPool({ ...base, processes: 1, sendAhead: true });
    const file = ledger();
    const [pid] = [await fault('pid', solo).callAsync([])] as number[];
    const crash = fault('segfault', solo).callAsync([]);
    const ahead = fault('record', solo).callAsync([file, 'ahead']);
    await expect(crash).rejects.toBeInstanceOf(ProcessExitError);
    expect(await ahead).toBe('ahead');
    expect(lines(file)).toEqual(['ahead']);
    expect(await fault('pid', solo).callAsync([])).not.toBe(pid);
    await solo.close();
  });

  it('a crash whose channel a child keeps open: the call sent ahead fails, unrun', async () => {
    // The worker's replies cannot all be known to be read: the call sent ahead may have
    // started, so it is not run again. It fails with the crash's error.
    const solo = new ProcessPool({ ...base, processes: 1, sendAhead: true });
    const file = ledger();
    await fault('pid', solo).callAsync([]);
    const crash = fault('crash_keeping_channel', solo).callAsync([3]);
    const ahead = fault('record', solo).callAsync([file, 'ahead']);
    await expect(crash).rejects.toMatchObject({ signal: 'SIGSEGV' });
    await expect(ahead).rejects.toMatchObject({ signal: 'SIGSEGV' });
    expect(lines(file)).toEqual([]);
    expect(await fault('record', solo).callAsync([file, 'next'])).toBe('next');
    await solo.close();
  });

  it('a worker past maxRssMb still runs the call it was sent ahead, however long', async () => {
    // Recycled at its reply to the leak, with a call already sent ahead: that call runs to its
    // end (6 s, past the 5 s a recycled worker is given to exit once it has no call left).
    const leaky = new ProcessPool({ ...base, processes: 1, maxRssMb: 150, sendAhead: true });
    const [pid] = [await fault('pid', leaky).callAsync([])] as number[];
    const leak = fault('leak', leaky).callAsync([200]);
    const ahead = fault('sleep', leaky).callAsync([6]);
    expect(await leak).toBe(pid);
    expect(await ahead).toBe(6);
    expect(await fault('pid', leaky).callAsync([])).not.toBe(pid);
    await leaky.close();
  }, 30_000);

  it('maxCallsPerProcess still holds: a call that would pass it is not sent ahead', async () => {
    const recycled = new ProcessPool({
      ...base,
      processes: 2,
      maxCallsPerProcess: 3,
      sendAhead: true,
    });
    const pids = await Promise.all(
      Array.from({ length: 12 }, () => fault('pid', recycled).callAsync([])),
    );
    const counts = new Map<unknown, number>();
    for (const pid of pids) counts.set(pid, (counts.get(pid) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(3);
    await recycled.close();
  });
});

describe('recovery', () => {
  it('after failed starts and the back-off, the pool starts again, to its full size', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-pool-'));
    const flag = path.join(dir, 'ok');
    const python = path.join(dir, 'python');
    // An interpreter that fails to start until `flag` exists.
    fs.writeFileSync(
      python,
      `#!/bin/sh\n[ -e ${JSON.stringify(flag)} ] || { echo 'not yet' >&2; exit 1; }\nexec ${JSON.stringify(BUILD_PYTHON)} "$@"\n`,
      { mode: 0o755 },
    );
    const flaky = new ProcessPool({ processes: 2, python, env });
    await expect(fault('pid', flaky).callAsync([])).rejects.toThrow(/not yet/);
    fs.writeFileSync(flag, '');
    // During the back-off (0.5 s per failed start, doubling) calls fail at once; then one runs.
    let pid: unknown;
    const deadline = Date.now() + 10_000;
    while (pid === undefined && Date.now() < deadline) {
      pid = await fault('pid', flaky)
        .callAsync([])
        .catch(() => new Promise((r) => setTimeout(r, 100)).then(() => undefined));
    }
    expect(pid).toBeGreaterThan(0);
    while (flaky.pids.length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(flaky.pids.length).toBe(2);
    await flaky.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('lifetime', () => {
  it('close(): queued calls reject, running ones finish, workers exit', async () => {
    const closing = new ProcessPool({ ...base, processes: 1 });
    await fault('pid', closing).callAsync([]); // started
    const running = fault('sleep', closing).callAsync([0.3]);
    await new Promise((r) => setTimeout(r, 100));
    const queued = fault('pid', closing).callAsync([]);
    const pids = closing.pids;
    const closed = closing.close();
    await expect(queued).rejects.toBeInstanceOf(ClosedError);
    expect(await running).toBe(0.3);
    await closed;
    await closing.close(); // idempotent
    expect(pids.every((pid) => !alive(pid))).toBe(true);
    expect(() => fault('pid', closing)).toThrow(ClosedError);
  });

  it('a SIGKILLed parent leaves no worker behind', async () => {
    const script = `
      const { ProcessPool, PythonFunction } = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const pool = new ProcessPool({ processes: 2, python: ${JSON.stringify(BUILD_PYTHON)} });
      const f = new PythonFunction('time', 'sleep', { pool });
      f.callAsync([60]);
      setTimeout(() => console.log(JSON.stringify(pool.pids)), 1500);
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pids = await new Promise<number[]>((resolve) => {
      child.stdout.once('data', (chunk: Buffer) =>
        resolve(JSON.parse(chunk.toString()) as number[]),
      );
    });
    expect(pids.length).toBe(2);
    expect(pids.every(alive)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(alive)).toEqual([]);
  });

  it('a pool made in a Worker: calls run, and terminate() ends its worker processes', async () => {
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const { ProcessPool, PythonFunction } = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
       const pool = new ProcessPool({ processes: 2, python: ${JSON.stringify(BUILD_PYTHON)} });
       const sleep = new PythonFunction('time', 'sleep', { pool });
       new PythonFunction('os', 'getpid', { pool }).callAsync([]).then((pid) => {
         sleep.callAsync([60]); // still running when the Worker is terminated
         parentPort.postMessage({ pid, pids: pool.pids });
       });`,
      { eval: true },
    );
    const { pid, pids } = await new Promise<{ pid: number; pids: number[] }>((resolve) =>
      worker.once('message', resolve),
    );
    expect(pids).toContain(pid);
    await new Promise((r) => setTimeout(r, 200));
    await worker.terminate();
    const deadline = Date.now() + 10_000;
    while (!pids.every(reaped) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter((p) => !reaped(p))).toEqual([]); // dead, and no zombies left
  });

  it('import and an in-process detect load no @msgpack package; a pooled call does', () => {
    const script = `
      const loaded = () => Object.keys(require.cache).some((f) => f.includes('@msgpack'));
      const po = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      new po.Outliers().detect(new Float64Array([1, 2, 3]));
      const before = loaded();
      const pool = new po.ProcessPool({ processes: 1, python: ${JSON.stringify(BUILD_PYTHON)} });
      new po.PythonFunction('os', 'getpid', { pool }).callAsync([]).then(() => {
        console.log(JSON.stringify([before, loaded()]));
        return pool.close();
      });`;
    // This process's environment: under `make asan` its Node loads the ASan-built addon.
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual([false, true]);
  });

  it('an idle pool does not keep Node running', () => {
    const script = `
      const { ProcessPool, PythonFunction } = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const pool = new ProcessPool({ processes: 1, python: ${JSON.stringify(BUILD_PYTHON)} });
      new PythonFunction('os', 'getpid', { pool }).callAsync([]).then((pid) => console.log('ran', pid));
    `;
    const ran = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(ran.status).toBe(0);
    expect(ran.stdout).toMatch(/^ran \d+/);
  });

  it('rejects bad options with TypeErrors', () => {
    expect(() => new ProcessPool({ sendAhead: 1 as unknown as boolean })).toThrow(
      /options.sendAhead must be a boolean/,
    );
    expect(() => new ProcessPool({ processes: 0 })).toThrow(TypeError);
    expect(() => new ProcessPool({ killAfterMs: -1 })).toThrow(TypeError);
    expect(() => new ProcessPool({ maxRssMb: 0 })).toThrow(TypeError);
    expect(() => new PythonFunction('os', 'getpid', { pool: {} as ProcessPool })).toThrow(
      TypeError,
    );
    expect(() => pool.allocate(Float64Array, -1)).toThrow(TypeError);
  });
});

// The low-latency mode (PY_OUTLIERS_LOW_LATENCY_US): what it does, not how fast (make bench
// judges that). Each case is a Node process of its own: the setting is read when a pool is made.
describe('the low-latency mode', () => {
  const script = `
    const fs = require('node:fs');
    const { ProcessPool, Outliers, PythonFunction } = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
    const cpuOf = (pid) => fs.readdirSync('/proc/' + pid + '/task').reduce((sum, task) =>
      sum + Number(fs.readFileSync('/proc/' + pid + '/task/' + task + '/schedstat', 'utf8').split(' ')[0]), 0);
    (async () => {
      const pool = new ProcessPool({ processes: 1, python: ${JSON.stringify(BUILD_PYTHON)} });
      const detector = new Outliers('outliers', 'detect', { pool });
      const values = new Float64Array(1000).map((_, i) => (i % 7) / 7);
      values[123] = 50;
      let right = 0;
      for (let i = 0; i < 300; i++) {
        const found = await detector.detectAsync(values);
        if (found.length === 1 && found[0] === 123) right++;
      }
      const [pid] = pool.pids;
      const window = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').split('\\0')[4];
      // Idle: once the window has passed, neither side polls.
      await new Promise((r) => setTimeout(r, 100));
      const before = [process.cpuUsage(), cpuOf(pid)];
      await new Promise((r) => setTimeout(r, 1000));
      const nodeUs = Object.values(process.cpuUsage(before[0])).reduce((a, b) => a + b, 0);
      const workerUs = (cpuOf(pid) - before[1]) / 1000;
      console.log(JSON.stringify({ right, window, nodeUs, workerUs }));
    })();
  `;
  const run = (prefix: string[], lowLatency: string) => {
    const [command, ...args] = [...prefix, process.execPath, '-e', script];
    const ran = spawnSync(command!, args, {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...env, PY_OUTLIERS_LOW_LATENCY_US: lowLatency },
    });
    expect(ran.stderr).toBe('');
    return JSON.parse(ran.stdout) as {
      right: number;
      window: string;
      nodeUs: number;
      workerUs: number;
    };
  };

  it('gives the same results, and costs no CPU once idle (worker and event loop)', () => {
    const { right, window, nodeUs, workerUs } = run([], '100');
    expect(right).toBe(300);
    expect(window).toBe(os.availableParallelism() >= 2 ? '100' : '0');
    // Idle for 1 s: a poll left running would cost about that much CPU. 100 ms is a wide
    // margin for a timer and the measuring itself on a loaded machine.
    expect(nodeUs).toBeLessThan(100_000);
    expect(workerUs).toBeLessThan(100_000);
  });

  it('is off where the process may use one CPU only (taskset -c 0)', () => {
    expect(run(['taskset', '-c', '0'], '100')).toMatchObject({ right: 300, window: '0' });
  });

  it('a malformed setting fails the pool with a PythonStartError that names it', () => {
    const saved = process.env['PY_OUTLIERS_LOW_LATENCY_US'];
    process.env['PY_OUTLIERS_LOW_LATENCY_US'] = 'fast';
    try {
      expect(() => new ProcessPool(base)).toThrow(
        expect.objectContaining({
          name: 'PythonStartError',
          message: expect.stringContaining('PY_OUTLIERS_LOW_LATENCY_US'),
        }),
      );
    } finally {
      if (saved === undefined) delete process.env['PY_OUTLIERS_LOW_LATENCY_US'];
      else process.env['PY_OUTLIERS_LOW_LATENCY_US'] = saved;
    }
  });
});

// Other Pythons, without numpy (pyenv's): plain values, and arrays as memoryviews.
const pyenvRoot = spawnSync('pyenv', ['root'], { encoding: 'utf8' }).stdout?.trim();
const otherPythons = ['3.9', '3.12', '3.13']
  .map((minor) => {
    const dir = pyenvRoot ? path.join(pyenvRoot, 'versions') : '';
    const found =
      dir && fs.existsSync(dir)
        ? fs.readdirSync(dir).find((v) => v.startsWith(`${minor}.`))
        : undefined;
    return found === undefined ? undefined : path.join(dir, found, 'bin', 'python3');
  })
  .filter((p): p is string => p !== undefined && fs.existsSync(p));

describe.skipIf(otherPythons.length === 0)('any CPython from 3.9, numpy or not', () => {
  it.each(otherPythons)('%s', async (python) => {
    const other = new ProcessPool({ processes: 1, python, env });
    const version = await fault('version', other).callAsync([]);
    expect(python).toContain(`${String(version)}.`);
    expect(
      await new PythonFunction('builtins', 'sorted', { pool: other }).callAsync([[3, 1, 2]]),
    ).toEqual([1, 2, 3]);
    const big = new Float64Array(50_000).fill(0.5);
    const described = await fault('describe', other).callAsync([big]);
    const hasNumpy = (described as { kind: string }).kind === 'ndarray';
    expect(described).toMatchObject({ readonly: true, sum: 25_000, shape: [50_000] });
    if (!hasNumpy) expect(described).toMatchObject({ kind: 'memoryview', format: 'd' });
    expect(
      await fault('describe', other).callAsync([ndarray(new Int32Array(6).fill(1), [2, 3])]),
    ).toMatchObject({
      shape: [2, 3],
      sum: 6,
    });
    if (!hasNumpy) {
      expect(await fault('double_memoryview', other).callAsync([new Float64Array([1, 2])])).toEqual(
        new Float64Array([2, 4]),
      );
    }
    await other.close();
  });
});
