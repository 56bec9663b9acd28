// One family of benchmark measurements, in a process of its own (an embedded interpreter,
// or its absence, must not colour another family's numbers), serving requests from run.mjs.
//
//   node bench/suites/child.mjs <inproc|ncp|grpc> '<json config>'
//
// Requests (one JSON line each on stdin): {op: 'measure', mode, size, budgetMs, minSamples},
// for inproc {op: 'eventLoop'}, {op: 'throughput'}, {op: 'threadThroughput'}, {op: 'cpuPerCall'},
// {op: 'idleCpu'}, {op: 'runtime'}, {op: 'functionCalls'} (also ncp),
// for grpc {op: 'remoteThroughput'}.
import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { inprocessFunctionCalls, ncpFunctionCalls } from './functions.mjs';
import {
  QUICK,
  makeInput,
  measureAsync,
  measureSync,
  serveRequests,
  summarize,
} from '../protocol/measure.mjs';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const PY_DIR = path.join(ROOT, 'bench', 'python');
const [family, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson ?? '{}');

const inputs = new Map();
const input = (size) => {
  if (!inputs.has(size)) inputs.set(size, makeInput(size));
  return inputs.get(size);
};

/** mode -> (values) => call, sync or async. */
function callsFor() {
  if (family === 'inproc') {
    const { Outliers } = require(path.join(ROOT, 'dist', 'index.js'));
    const detector = new Outliers();
    const trivial = new Outliers('trivial', 'noop', { paths: [PY_DIR] });
    // detect timing itself (timed_detect.py), for the hop's cost less the function's own time.
    const timed = new Outliers('timed_detect', 'detect', { paths: [PY_DIR] });
    const dump = new Outliers('timed_detect', 'dump', { paths: [PY_DIR] });
    const ownTimesUs = () => {
      dump.detect(new Float64Array(1));
      const file = path.join(os.tmpdir(), `py-outliers-bench-${process.pid}.json`);
      const ns = JSON.parse(fs.readFileSync(file, 'utf8'));
      fs.rmSync(file);
      return ns.map((t) => t / 1000);
    };
    return {
      sync: {
        inproc: (v) => detector.detect(v),
        inproc_notune: (v) => detector.detect(v),
        inproc_trivial: (v) => trivial.detect(v),
      },
      // The libuv pool's round trip (a stat, awaited one at a time): the floor of an async hop.
      // The ll_ modes are the same calls, in the family that runs the low-latency mode.
      async: {
        async: (v) => detector.detectAsync(v),
        stat: () => fsPromises.stat(ROOT),
        ll_async: (v) => detector.detectAsync(v),
        ll_stat: () => fsPromises.stat(ROOT),
      },
      excess: {
        sync_excess: { call: (v) => timed.detect(v), ownTimesUs },
        async_excess: { call: (v) => timed.detectAsync(v), ownTimesUs, async: true },
        ll_sync_excess: { call: (v) => timed.detect(v), ownTimesUs },
        ll_async_excess: { call: (v) => timed.detectAsync(v), ownTimesUs, async: true },
      },
      detector,
    };
  }
  if (family === 'grpc') {
    const { RemoteOutliers } = require(path.join(ROOT, 'dist', 'index.js'));
    const detector = new RemoteOutliers(config.detectAddress);
    const repeated = new RemoteOutliers(config.detectAddress, { encoding: 'repeated-double' });
    const trivial = new RemoteOutliers(config.trivialAddress);
    return {
      sync: {},
      async: {
        grpc: (v) => detector.detect(v),
        grpc_repeated: (v) => repeated.detect(v),
        grpc_trivial: (v) => trivial.detect(v),
      },
    };
  }
  if (family === 'ncp') {
    // node-calls-python embeds the python3 on PATH and converts arguments (bench/python/ncp_detect.py).
    const py = require('node-calls-python').interpreter;
    py.addImportPath(path.join(ROOT, 'python'));
    const module = py.importSync(path.join(PY_DIR, 'ncp_detect.py'));
    return {
      sync: {
        ncp: (v) => py.callSync(module, 'detect', v),
        ncp_trivial: (v) => py.callSync(module, 'noop', v),
      },
      // Its async call: the same function on a thread of libuv's pool, the anchor users
      // compare detectAsync with.
      async: { ncp_async: (v) => py.call(module, 'detect', v) },
    };
  }
  throw new Error(`unknown family ${family}`);
}

let calls;
try {
  calls = callsFor();
} catch (error) {
  calls = { unavailable: String(error.message ?? error) };
}

const remotes = new Map();

/**
 * Times calls one at a time, each less the time the Python function itself took in it (as
 * timed_detect.py recorded it): what the call costs around the work. Per call, µs. The samples
 * are the last calls made (after the warm-up), so they pair with the last own times.
 */
async function measureExcess({ call, ownTimesUs, async }, values, budgetMs, minSamples) {
  ownTimesUs(); // forget earlier calls'
  const totals = async
    ? await measureAsync(() => call(values), budgetMs, minSamples)
    : measureSync(() => call(values), budgetMs, minSamples, true);
  const own = ownTimesUs().slice(-totals.length);
  if (own.length !== totals.length)
    throw new Error(`${own.length} own times for ${totals.length} calls`);
  return totals.map((total, i) => total - own[i]);
}

/** Calls/s of `call` on `size` values with `inFlight` calls in flight for `roundMs`. */
async function streamThroughput(call, size, inFlight, roundMs) {
  const values = input(size);
  for (let i = 0; i < inFlight; i++) await call(values); // warm: connections, caches
  let n = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (performance.now() - t0 < roundMs) {
      await call(values);
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { perSecond: n / ((performance.now() - t0) / 1000) };
}

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

serveRequests({
  available: () => ({ unavailable: calls.unavailable }),

  measure: async ({ mode, size, budgetMs, minSamples }) => {
    const values = input(size);
    if (calls.sync[mode])
      return { samples: measureSync(() => calls.sync[mode](values), budgetMs, minSamples) };
    if (calls.async[mode])
      return { samples: await measureAsync(() => calls.async[mode](values), budgetMs, minSamples) };
    if (calls.excess?.[mode])
      return { samples: await measureExcess(calls.excess[mode], values, budgetMs, minSamples) };
    throw new Error(`${family} has no mode ${mode}`);
  },

  runtime: () => ({ runtime: require(path.join(ROOT, 'dist', 'index.js')).runtimeInfo() }),

  // PythonFunction's costs, or the same calls through node-calls-python (bench/suites/functions.mjs).
  functionCalls: () => ({
    functionCalls: family === 'ncp' ? ncpFunctionCalls() : inprocessFunctionCalls(),
  }),

  // Zero copy: the trivial call on 1 value against the same call on 10M values, alternating
  // within each round (measuring them minutes apart would compare the machine's moods).
  zeroCopy: () => {
    const trivial = calls.sync.inproc_trivial;
    const small = input(0);
    const big = input(QUICK ? 100_000 : 10_000_000);
    const ratios = [];
    for (let round = 0; round < (QUICK ? 3 : 10); round++) {
      const a = summarize(measureSync(() => trivial(small), 30, 3)).medianUs;
      const b = summarize(measureSync(() => trivial(big), 30, 3)).medianUs;
      ratios.push(b / a);
    }
    return { zeroCopy: { bigSize: big.length, ratio: summarize(ratios).medianUs } };
  },

  // Event-loop delay while a stream of calls on 1M values runs: sync blocks the loop for each
  // whole call; async should leave it free. monitorEventLoopDelay times a 1 ms libuv timer, and
  // libuv's clock counts whole milliseconds: anything that wakes the loop just before the timer
  // is due makes it sleep one more millisecond, so any stream of wake-ups, even free ones, puts
  // its p99 near 2 ms (measured: a worker's empty messages at the async stream's rate, 1.92-1.94
  // ms; the async stream, 1.85-2.03). The "wake-ups alone" row measures that floor in each run.
  // How long a worker's messages wait for the loop, in a second window per stream, is the
  // measure without the quantum: what a request arriving during the stream would wait.
  eventLoop: async () => {
    const { detector } = calls;
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
  },

  // Throughput at 1k: sync back to back against async with 64 calls in flight, in alternating
  // rounds (this machine's speed drifts; the medians of the rounds are compared).
  throughput: async () => {
    const { detector } = calls;
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
  },

  // CPU time per call, all threads of the process (process.cpuUsage), one call at a time on
  // `size` values: detect against detectAsync, in alternating rounds, with the wall time beside.
  cpuPerCall: async ({ size, calls: count, rounds }) => {
    const { detector } = calls;
    const values = input(size);
    const ways = {
      detect: async () => {
        for (let i = 0; i < count; i++) detector.detect(values);
      },
      detectAsync: async () => {
        for (let i = 0; i < count; i++) await detector.detectAsync(values);
      },
    };
    const perRound = { detect: [], detectAsync: [] };
    await ways.detect();
    await ways.detectAsync();
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 ? ['detectAsync', 'detect'] : ['detect', 'detectAsync']) {
        const before = process.cpuUsage();
        const t0 = performance.now();
        await ways[name]();
        const wallUs = ((performance.now() - t0) * 1000) / count;
        const used = process.cpuUsage(before);
        perRound[name].push({ cpuUs: (used.user + used.system) / count, wallUs });
      }
    }
    const median = (xs) => summarize(xs).medianUs;
    const of = (name) => ({
      cpuUs: median(perRound[name].map((r) => r.cpuUs)),
      wallUs: median(perRound[name].map((r) => r.wallUs)),
    });
    return {
      cpuPerCall: {
        size,
        calls: count,
        rounds,
        detect: of('detect'),
        detectAsync: of('detectAsync'),
      },
    };
  },

  // The process's CPU time over `ms` of idle, right after a burst of async calls: what the
  // Python threads cost while there is nothing to do.
  idleCpu: async ({ ms }) => {
    const { detector } = calls;
    for (const size of [1000, 1_000_000]) {
      const values = input(size);
      await Promise.all(Array.from({ length: 32 }, () => detector.detectAsync(values)));
    }
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const used = process.cpuUsage(before);
    return { idleCpu: { ms, cpuMs: (used.user + used.system) / 1000 } };
  },

  // detectAsync throughput with `inFlight` calls in flight on `size` values, for the Python
  // thread count this process runs with (run.mjs starts one process per count).
  threadThroughput: ({ size, inFlight, roundMs }) =>
    streamThroughput((values) => calls.detector.detectAsync(values), size, inFlight, roundMs),

  // RemoteOutliers throughput against the server at `address` (run.mjs starts one per worker
  // count), with `inFlight` calls in flight on `size` values.
  remoteThroughput: ({ address, size, inFlight, roundMs }) => {
    if (!remotes.has(address)) {
      const { RemoteOutliers } = require(path.join(ROOT, 'dist', 'index.js'));
      remotes.set(address, new RemoteOutliers(address));
    }
    const remote = remotes.get(address);
    return streamThroughput((values) => remote.detect(values), size, inFlight, roundMs);
  },
});
