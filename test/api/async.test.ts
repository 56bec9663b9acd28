// detectAsync: same results and errors as detect, off the event loop, safe under load, close,
// GC, detach, Workers and exit.
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { ClosedError, Outliers, PythonError, ResultError, runtimeInfo } from '../../src/index.js';
import { PACKAGE_ENTRY, PROBE_DIR, probe, runNode, seedCase, uniform } from '../helpers.js';

const gc = (globalThis as { gc?: () => void }).gc!;

/** An input whose only outlier is at `at` (so every result tells which input it came from). */
function spiked(length: number, at: number): Float64Array {
  const values = uniform(length, at + 1);
  values[at] = 1000;
  return values;
}

describe('detectAsync results and errors', () => {
  const o = new Outliers();

  it('equals detect on the seed and on random data', async () => {
    expect(Array.from(await o.detectAsync(seedCase()))).toEqual([7, 113, 835]);
    for (const length of [10, 1000, 100_000]) {
      const values = uniform(length, length + 3);
      for (let i = 0; i < length; i += 101) values[i] = values[i]! * 25;
      expect(Array.from(await o.detectAsync(values))).toEqual(Array.from(o.detect(values)));
    }
  });

  it('returns an empty result for empty input', async () => {
    expect((await o.detectAsync(new Float64Array(0))).length).toBe(0);
  });

  it('rejects (never throws) for wrong input types', async () => {
    let promise: Promise<Int32Array> | undefined;
    expect(() => {
      promise = o.detectAsync([1, 2, 3] as unknown as Float64Array);
    }).not.toThrow();
    await expect(promise).rejects.toThrow(TypeError);
    await expect(o.detectAsync(new Float32Array(3) as unknown as Float64Array)).rejects.toThrow(
      /values must be a Float64Array/,
    );
    const detached = new Float64Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    await expect(o.detectAsync(detached)).rejects.toThrow(/detached/);
  });

  it('Python errors reject with PythonError whose stack has the JS call site', async () => {
    const error = await probe('raise_value_error')
      .detectAsync(new Float64Array(3))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PythonError);
    expect((error as PythonError).type).toBe('ValueError');
    expect((error as PythonError).traceback).toMatch(/in raise_value_error/);
    expect((error as Error).stack).toMatch(/^PythonError: bad data of length 3\n/);
    expect((error as Error).stack).toMatch(/async\.test\.ts/);
  });

  it('bad results reject with ResultError; SystemExit with PythonError', async () => {
    await expect(probe('returns_out_of_range').detectAsync(new Float64Array(5))).rejects.toThrow(
      ResultError,
    );
    const exit = await probe('raise_system_exit')
      .detectAsync(new Float64Array(1))
      .catch((e: unknown) => e);
    expect((exit as PythonError).type).toBe('SystemExit');
    expect(Array.from(await o.detectAsync(seedCase()))).toEqual([7, 113, 835]);
  });
});

describe('under load', () => {
  it('thousands of calls in flight all complete with their own result', async () => {
    const o = new Outliers();
    const inputs = Array.from({ length: 3000 }, (_, i) => spiked(64 + (i % 50), i % 60));
    const results = await Promise.all(inputs.map((v) => o.detectAsync(v)));
    results.forEach((r, i) => expect(Array.from(r), `call ${i}`).toEqual([i % 60]));
  });

  it('sync and async calls mixed on one object', async () => {
    const o = new Outliers();
    const pending: Promise<Int32Array>[] = [];
    for (let i = 0; i < 200; i++) {
      pending.push(o.detectAsync(spiked(500, i)));
      expect(Array.from(o.detect(spiked(500, 499 - i)))).toEqual([499 - i]);
    }
    (await Promise.all(pending)).forEach((r, i) => expect(Array.from(r)).toEqual([i]));
  });

  it('keeps the event loop free while Python runs', async () => {
    const slow = probe('sleep_long');
    const started = Date.now();
    const call = slow.detectAsync(new Float64Array([0.6]));
    const ticks: number[] = [];
    while (Date.now() - started < 500) {
      const t = Date.now();
      await sleep(10);
      ticks.push(Date.now() - t);
    }
    await call;
    expect(Math.max(...ticks)).toBeLessThan(100);
    expect(ticks.length).toBeGreaterThan(10);
  });

  it('GC pressure during in-flight calls: every input stays valid', async () => {
    const o = new Outliers();
    const pending = (() =>
      Array.from({ length: 300 }, (_, i) => o.detectAsync(spiked(20_000, (i * 37) % 20_000))))();
    for (let i = 0; i < 5; i++) {
      gc();
      Array.from({ length: 20 }, () => new Float64Array(50_000).fill(3)); // churn
      await sleep(1);
    }
    (await Promise.all(pending)).forEach((r, i) =>
      expect(Array.from(r)).toEqual([(i * 37) % 20_000]),
    );
  });

  it('a buffer detached while its call is pending: no crash, the data Python saw is intact', async () => {
    const o = new Outliers();
    const slow = probe('sleep_long');
    const blocker = slow.detectAsync(new Float64Array([0.2])); // the call below waits behind it
    const values = spiked(1_000_000, 777_777);
    const call = o.detectAsync(values);
    const moved = structuredClone(values.buffer, { transfer: [values.buffer] });
    expect(values.length).toBe(0);
    gc();
    expect(Array.from(await call)).toEqual([777_777]);
    expect(new Float64Array(moved)[777_777]).toBe(1000);
    await blocker;
  });
});

describe('close() with calls in flight', () => {
  it('queued calls reject with ClosedError or finish; nothing hangs', async () => {
    const o = new Outliers();
    const slow = probe('sleep_long');
    // One sleeping call per Python thread: every thread is busy while the others queue.
    const blockers = Array.from({ length: runtimeInfo().pythonThreads }, () =>
      slow.detectAsync(new Float64Array([0.2])),
    );
    const pending = Array.from({ length: 100 }, (_, i) => o.detectAsync(spiked(100, i % 100)));
    o.close();
    const settled = await Promise.allSettled(pending);
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') expect(Array.from(s.value)).toEqual([i % 100]);
      else expect(s.reason).toBeInstanceOf(ClosedError);
    });
    // They were queued behind the blocker when close() ran: all of them were refused.
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    await Promise.all(blockers);
  });

  it('a call already running finishes', async () => {
    const slow = probe('sleep_long');
    const running = slow.detectAsync(new Float64Array([0.3]));
    await sleep(100);
    slow.close();
    expect(Array.from(await running)).toEqual([]);
    await expect(slow.detectAsync(new Float64Array([0]))).rejects.toThrow(ClosedError);
  });
});

describe('processes and Workers (child processes, exit codes asserted)', () => {
  const REQUIRE = `const lib = require(${JSON.stringify(PACKAGE_ENTRY)});`;
  const SLOW = `new lib.Outliers('probe', 'sleep_long', { paths: [${JSON.stringify(PROBE_DIR)}] })`;

  it('a process whose last action is starting async calls delivers them and exits 0', async () => {
    const run = await runNode(`${REQUIRE}
      const o = new lib.Outliers();
      let done = 0;
      let settled = 0;
      for (let i = 0; i < 50; i++) {
        const v = new Float64Array(100_000); v[i] = 1e6;
        // Calls on several Python threads finish in any order: report after the last to settle.
        o.detectAsync(v).then((r) => { if (r[0] === i) done++; if (++settled === 50) console.log('done', done); });
      }`);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('done 50\n');
    expect(run.status).toBe(0);
  });

  it('nothing keeps the process alive once the calls are over (not awaited, slow Python)', async () => {
    const started = Date.now();
    const run = await runNode(
      `${REQUIRE} ${SLOW}.detectAsync(new Float64Array([0.5])); console.log('started');`,
    );
    expect(run.stdout).toBe('started\n');
    expect(run.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('process.exit() with calls in flight exits with that code, no crash', async () => {
    const run = await runNode(`${REQUIRE}
      const o = new lib.Outliers();
      ${SLOW}.detectAsync(new Float64Array([2]));
      for (let i = 0; i < 20; i++) o.detectAsync(new Float64Array(1_000_000));
      setTimeout(() => process.exit(0), 50);`);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('close() during flight, then exit: code 0', async () => {
    const run = await runNode(`${REQUIRE}
      const o = new lib.Outliers();
      const all = Array.from({ length: 200 }, () => o.detectAsync(new Float64Array(10_000)));
      o.close();
      Promise.allSettled(all).then((s) => console.log(s.length));`);
    expect(run.stdout).toBe('200\n');
    expect(run.status).toBe(0);
  });

  it('worker.terminate() while its calls are in flight: the process goes on', async () => {
    const run = await runNode(`
      const { Worker } = require('node:worker_threads');
      ${REQUIRE}
      const code = ${JSON.stringify(`${REQUIRE}
        const o = new lib.Outliers();
        ${SLOW}.detectAsync(new Float64Array([0.3]));
        for (let i = 0; i < 500; i++) o.detectAsync(new Float64Array(10_000));
        require('node:worker_threads').parentPort.postMessage('busy');`)};
      const workers = Array.from({ length: 3 }, () => new Worker(code, { eval: true }));
      let busy = 0;
      for (const w of workers) w.on('message', async () => {
        if (++busy < workers.length) return;
        await Promise.all(workers.map((x) => x.terminate()));
        const o = new lib.Outliers();
        const v = new Float64Array(100); v[42] = 1e3;
        console.log('after', (await o.detectAsync(v)).join(), o.detect(v).join());
      });`);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('after 42 42\n');
    expect(run.status).toBe(0);
  });

  it('several Workers using detectAsync at once', async () => {
    const run = await runNode(`
      const { Worker } = require('node:worker_threads');
      const code = ${JSON.stringify(`${REQUIRE}
        const o = new lib.Outliers();
        const v = new Float64Array(1000); v[123] = 1e3;
        Promise.all(Array.from({ length: 300 }, () => o.detectAsync(v))).then((rs) =>
          require('node:worker_threads').parentPort.postMessage(rs.every((r) => r.length === 1 && r[0] === 123)));`)};
      Promise.all(Array.from({ length: 4 }, () => new Promise((resolve) =>
        new Worker(code, { eval: true }).once('message', resolve)))).then((oks) => console.log(oks.join()));`);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('true,true,true,true\n');
    expect(run.status).toBe(0);
  });
});
