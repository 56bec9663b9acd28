// The event loop under sync and async streams of calls, and throughput with calls in flight:
// the measuring side of the event-loop rows (run in the in-process measuring process,
// bench/suites/child.mjs).
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

import { QUICK } from '../protocol/measure.mjs';

/**
 * A worker thread that posts a message every `periodMs` on average (uniformly 0.5-1.5x, so the
 * messages fall at any phase of the event loop's 1 ms timer), stamped with the time it was sent.
 * `waits` (a perf_hooks histogram, ns) gets how long each one waited for the event loop: what a
 * request arriving at that moment would wait. Costs the loop nothing but its wake-up.
 */
function messageStream(periodMs) {
  const source = `
    const { parentPort, workerData: periodMs } = require('node:worker_threads');
    const clock = new Int32Array(new SharedArrayBuffer(4));
    const next = () => {
      Atomics.wait(clock, 0, 0, periodMs * (0.5 + Math.random()));
      parentPort.postMessage(process.hrtime.bigint());
      setImmediate(next); // lets terminate() in
    };
    next();`;
  const worker = new Worker(source, { eval: true, workerData: periodMs });
  const waits = createHistogram();
  worker.on('message', (sent) => waits.record(Math.max(1, Number(process.hrtime.bigint() - sent))));
  return { waits, stop: () => worker.terminate() };
}

/** p50, p99 and max of a perf_hooks histogram of ns, in `unit` ns (none if it is empty). */
function percentiles(histogram, unit, suffix) {
  if (histogram.count === 0) return {};
  return {
    [`p50${suffix}`]: histogram.percentile(50) / unit,
    [`p99${suffix}`]: histogram.percentile(99) / unit,
    [`max${suffix}`]: histogram.max / unit,
  };
}

/**
 * The event loop's delay while `runFor(ms)` runs (it returns how many calls it made), as Node's
 * monitorEventLoopDelay sees it; with `messagesEveryMs`, how long a worker's messages (one per
 * that many ms) waited for the loop too, in the same window.
 */
async function eventLoopDelay(label, runFor, messagesEveryMs) {
  const messages = messagesEveryMs ? messageStream(messagesEveryMs) : undefined;
  if (messages) {
    await new Promise((r) => setTimeout(r, 100)); // the worker's start-up
    messages.waits.reset();
  }
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const count = await runFor(QUICK ? 300 : 2000);
  histogram.disable();
  await messages?.stop();
  return {
    label,
    calls: count,
    ...percentiles(histogram, 1e6, 'Ms'),
    ...(messages && {
      messages: { count: messages.waits.count, ...percentiles(messages.waits, 1e3, 'Us') },
    }),
  };
}

// Event-loop delay while a stream of calls on 1M values runs: sync blocks the loop for each
// whole call; async should leave it free. monitorEventLoopDelay times a 1 ms libuv timer, and
// libuv's clock counts whole milliseconds: anything that wakes the loop just before the timer
// is due makes it sleep one more millisecond, so any stream of wake-ups, even free ones, puts
// its p99 near 2 ms (measured: a worker's empty messages at the async stream's rate, 1.92-1.94
// ms; the async stream, 1.85-2.03). The "wake-ups alone" row measures that floor in each run.
// How long a worker's messages wait for the loop, in a second window per stream, is the
// measure without the quantum: what a request arriving during the stream would wait.
export async function eventLoopSuite(detector, input) {
  const big = input(1_000_000);
  const idle = (ms) => new Promise((r) => setTimeout(() => r(0), ms));
  const sync = async (ms) => {
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      detector.detect(big);
      n++;
      await new Promise((r) => setImmediate(r));
    }
    return n;
  };
  const stream = async (ms) => {
    const end = performance.now() + ms;
    let n = 0;
    const lane = async () => {
      while (performance.now() < end) {
        await detector.detectAsync(big);
        n++;
      }
    };
    await Promise.all([lane(), lane()]);
    return n;
  };
  const rows = [
    await eventLoopDelay('idle', idle),
    await eventLoopDelay('sync detect, 1M', sync),
    await eventLoopDelay('detectAsync, 1M, 2 in flight', stream),
  ];
  const window = QUICK ? 300 : 2000;
  rows.push(
    await eventLoopDelay(
      "wake-ups alone (a worker's empty messages, the async stream's rate)",
      idle,
      window / Math.max(1, rows[2].calls),
    ),
  );
  // A message every 5 ms: few enough not to crowd the loop, enough for a p99 in 2 s.
  const waits = {};
  for (const [key, runFor] of [
    ['idle', idle],
    ['sync', sync],
    ['async', stream],
  ]) {
    waits[key] = (await eventLoopDelay(key, runFor, 5)).messages;
  }
  return { eventLoop: rows, messageWaits: waits };
}

// Throughput at 1k: sync back to back against async with 64 calls in flight, in alternating
// rounds (this machine's speed drifts; the medians of the rounds are compared).
export async function throughputSuite(detector, input) {
  const small = input(1000);
  const roundMs = QUICK ? 100 : 400;
  const syncRounds = [];
  const asyncRounds = [];
  for (let round = 0; round < (QUICK ? 3 : 7); round++) {
    let n = 0;
    let t0 = performance.now();
    while (performance.now() - t0 < roundMs) {
      detector.detect(small);
      n++;
    }
    syncRounds.push(n / ((performance.now() - t0) / 1000));
    n = 0;
    t0 = performance.now();
    const lane = async () => {
      while (performance.now() - t0 < roundMs) {
        await detector.detectAsync(small);
        n++;
      }
    };
    await Promise.all(Array.from({ length: 64 }, lane));
    asyncRounds.push(n / ((performance.now() - t0) / 1000));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  return {
    throughput: {
      size: 1000,
      inFlight: 64,
      rounds: syncRounds.length,
      syncPerSecond: median(syncRounds),
      asyncPerSecond: median(asyncRounds),
      ratio: median(asyncRounds) / median(syncRounds),
    },
  };
}
