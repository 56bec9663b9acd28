// Cancellation: detectAsync(values, { signal }) and RemoteOutliers.detect(values, { signal })
// reject at once with an AbortError whose cause is the signal's reason; a queued call never runs;
// a running one is interrupted where Python can be, and its thread is reused; nothing leaks.
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AbortError,
  Outliers,
  PythonError,
  RemoteOutliers,
  runtimeInfo,
  setPythonThreads,
  startGrpcServer,
  type GrpcServer,
} from '../../src/index.js';
import { PROBE_DIR, probe, seedCase } from '../helpers.js';

// Two threads whatever the machine, so that "queued" and "running" mean the same here as on
// the 2-core machine the numbers in the README come from.
setPythonThreads(2);

const gc = (globalThis as { gc?: () => void }).gc!;

function reportOf(o: Outliers): Promise<{
  calls: Record<string, number>;
  aborted: string[];
  threads: number;
}> {
  return o.detectAsync(new Float64Array(1)).then(
    () => {
      throw new Error('report_* must raise');
    },
    (error: unknown) => JSON.parse((error as PythonError).message),
  );
}

// The same report, read by a sync call: async calls may all be queued behind spinners.
function reportNow(o: Outliers): { calls: Record<string, number>; aborted: string[] } {
  try {
    o.detect(new Float64Array(1));
  } catch (error) {
    return JSON.parse((error as PythonError).message);
  }
  throw new Error('report_* must raise');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('detectAsync with an AbortSignal', () => {
  const report = probe('report_calls');

  it('runs with a signal that does not fire, and with none', async () => {
    const o = new Outliers();
    expect(runtimeInfo().pythonThreads).toBe(2);
    expect(
      Array.from(await o.detectAsync(seedCase(), { signal: new AbortController().signal })),
    ).toEqual([7, 113, 835]);
    expect(Array.from(await o.detectAsync(seedCase(), {}))).toEqual([7, 113, 835]);
    expect(
      (await o.detectAsync(new Float64Array(0), { signal: new AbortController().signal })).length,
    ).toBe(0);
    // The signal is checked first, as Node's own APIs do, even when there is nothing to do.
    expect(
      await rejection(o.detectAsync(new Float64Array(0), { signal: AbortSignal.abort() })),
    ).toBeInstanceOf(AbortError);
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const o = new Outliers();
    for (const signal of [{}, 'abort', { aborted: false }]) {
      await expect(
        o.detectAsync(seedCase(), { signal } as unknown as { signal: AbortSignal }),
      ).rejects.toThrow(TypeError);
    }
  });

  it('an already aborted signal rejects at once and the function never runs', async () => {
    const counted = probe('counted');
    const before = (await reportOf(report)).calls['counted'] ?? 0;
    const reason = new Error('gave up');
    const error = await rejection(
      counted.detectAsync(seedCase(), { signal: AbortSignal.abort(reason) }),
    );
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).name).toBe('AbortError');
    expect((error as AbortError).code).toBe('ABORT_ERR');
    expect((error as AbortError).cause).toBe(reason);
    expect((error as Error).stack).toMatch(/abort\.test\.ts/); // the call site
    expect((await reportOf(report)).calls['counted'] ?? 0).toBe(before);
  });

  it('a queued call that is aborted never runs in Python', async () => {
    const sleeper = probe('sleep_then_argmax');
    const counted = probe('counted');
    const before = (await reportOf(report)).calls['counted'] ?? 0;
    // Both threads busy for 300 ms.
    const busy = [
      sleeper.detectAsync(new Float64Array([0.3, 5])),
      sleeper.detectAsync(new Float64Array([0.3, 5])),
    ];
    await sleep(50);
    const controller = new AbortController();
    const queued = counted.detectAsync(seedCase(), { signal: controller.signal });
    const started = Date.now();
    controller.abort();
    const error = await rejection(queued);
    expect(error).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(250); // at once, not when a thread is free
    expect((await Promise.all(busy)).map((r) => Array.from(r))).toEqual([[1], [1]]);
    expect((await reportOf(report)).calls['counted'] ?? 0).toBe(before);
    expect(Array.from(await counted.detectAsync(seedCase()))).toEqual([113]); // runs again
  });

  it('a running call is interrupted (CallAborted in Python) and its thread is reused', async () => {
    const spinner = probe('spin_forever');
    const { aborted, calls: callsBefore } = await reportOf(report);
    const before = aborted.length;
    // More spinning calls than threads: every thread is taken, then every one freed.
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const calls = controllers.map((c) => spinner.detectAsync(seedCase(), { signal: c.signal }));
    // Until both threads spin: a fixed wait lost the race once on a loaded CI machine, where
    // the second thread had not started its call yet.
    const spinning = (callsBefore['spin_forever'] ?? 0) + 2;
    while ((reportNow(report).calls['spin_forever'] ?? 0) < spinning) await sleep(5);
    const started = Date.now();
    controllers.forEach((c) => c.abort());
    for (const call of calls) expect(await rejection(call)).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(250);
    // The threads come back: later calls run (each would wait forever behind a spinner).
    const o = new Outliers();
    const results = await Promise.all(Array.from({ length: 4 }, () => o.detectAsync(seedCase())));
    expect(results.map((r) => Array.from(r))).toEqual(Array(4).fill([7, 113, 835]));
    // Two were running and interrupted; the third was queued and never ran. Each spinner records
    // its CallAborted when it next holds the GIL: on a loaded machine the second thread may do
    // so only after the calls above ran on the first, so wait for it (at most 5 s).
    let after = reportNow(report);
    for (const end = Date.now() + 5000; after.aborted.length < before + 2 && Date.now() < end;) {
      await sleep(10);
      after = reportNow(report);
    }
    expect(after.aborted.slice(before)).toEqual(['CallAborted', 'CallAborted']);
  });

  it('AbortSignal.timeout gives a deadline: AbortError with the TimeoutError as cause', async () => {
    const spinner = probe('spin_forever');
    const started = Date.now();
    const error = await rejection(
      spinner.detectAsync(seedCase(), { signal: AbortSignal.timeout(100) }),
    );
    expect(error).toBeInstanceOf(AbortError);
    expect(((error as AbortError).cause as Error).name).toBe('TimeoutError');
    // Wide margin: the timer fires after >= 100 ms; a loaded CI machine may be slow.
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a call inside C (time.sleep) rejects at once; its result is discarded; the thread frees', async () => {
    const sleeper = probe('sleep_then_argmax');
    const controller = new AbortController();
    const call = sleeper.detectAsync(new Float64Array([0.4, 9]), { signal: controller.signal });
    await sleep(50);
    const started = Date.now();
    controller.abort('stop');
    const error = await rejection(call);
    expect(Date.now() - started).toBeLessThan(200);
    expect((error as AbortError).cause).toBe('stop');
    await sleep(500); // the sleep ended meanwhile; its result went nowhere
    expect(Array.from(await sleeper.detectAsync(new Float64Array([0, 3])))).toEqual([1]);
  });

  it('keeps the input alive while Python holds it, whatever JS does after the abort', async () => {
    const keeper = probe('keep_then_sleep');
    let values: Float64Array | undefined = new Float64Array(100_000).fill(0.5);
    const controller = new AbortController();
    const call = keeper.detectAsync(values, { signal: controller.signal });
    await sleep(50);
    controller.abort();
    expect(await rejection(call)).toBeInstanceOf(AbortError);
    structuredClone(values.buffer, { transfer: [values.buffer] }); // detach: JS lets go
    values = undefined;
    gc();
    await sleep(400); // the call ended meanwhile (interrupted after its sleep)
    gc();
    const { sums } = JSON.parse(
      ((await rejection(probe('report_kept_sums').detectAsync(new Float64Array(1)))) as PythonError)
        .message,
    ) as { sums: number[] };
    expect(sums).toEqual([50_000]); // the view Python kept still reads the caller's values
  });

  it('a signal that never fires, shared by 10^5 calls: no listener is left behind', async () => {
    const o = probe('noop');
    const controller = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const one = new Float64Array(1);
    for (let i = 0; i < 100_000; i += 64) {
      // 64 in flight on one signal: still one listener, and no MaxListenersExceededWarning.
      await Promise.all(
        Array.from({ length: 64 }, () => o.detectAsync(one, { signal: controller.signal })),
      );
      if (i === 0) expect(getEventListeners(controller.signal, 'abort').length).toBe(0);
    }
    expect(getEventListeners(controller.signal, 'abort').length).toBe(0);
    process.off('warning', onWarning);
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    // Aborting now rejects nothing and breaks nothing.
    controller.abort();
    expect((await o.detectAsync(one)).length).toBe(0);
  });
});

describe('RemoteOutliers with an AbortSignal', () => {
  let server: GrpcServer;
  beforeAll(async () => {
    server = await startGrpcServer({
      moduleName: 'probe',
      funcName: 'sleep_then_argmax',
      paths: [PROBE_DIR],
    });
  });
  afterAll(() => server?.stop());

  it('rejects at once with AbortError and cancels the gRPC call; the channel stays usable', async () => {
    const remote = new RemoteOutliers(server.address);
    try {
      expect(Array.from(await remote.detect(new Float64Array([0, 4])))).toEqual([1]);
      const already = await rejection(
        remote.detect(seedCase(), { signal: AbortSignal.abort('no') }),
      );
      expect(already).toBeInstanceOf(AbortError);
      expect((already as AbortError).cause).toBe('no');

      const controller = new AbortController();
      const call = remote.detect(new Float64Array([2, 4]), { signal: controller.signal });
      await sleep(100);
      const started = Date.now();
      controller.abort();
      expect(await rejection(call)).toBeInstanceOf(AbortError);
      expect(Date.now() - started).toBeLessThan(500);

      const timedOut = await rejection(
        remote.detect(new Float64Array([2, 4]), { signal: AbortSignal.timeout(100) }),
      );
      expect(((timedOut as AbortError).cause as Error).name).toBe('TimeoutError');
      expect(Array.from(await remote.detect(new Float64Array([0, 7])))).toEqual([1]);
    } finally {
      remote.close();
    }
  });
});
