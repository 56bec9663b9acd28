// One family of benchmark measurements, in a process of its own (an embedded interpreter,
// or its absence, must not colour another family's numbers), serving requests from run.mjs.
//
//   node bench/suites/child.mjs <inproc|ncp|grpc|pool> '<json config>'
//
// Requests (one JSON line each on stdin): {op: 'measure', mode, size, budgetMs, minSamples},
// for inproc {op: 'eventLoop'}, {op: 'throughput'}, {op: 'threadThroughput'}, {op: 'cpuPerCall'},
// {op: 'idleCpu'}, {op: 'runtime'}, {op: 'functionCalls'} (also ncp),
// for grpc {op: 'remoteThroughput'}. This file is the process and the latency modes; the other
// suites' measuring sides are their own files here (cpu.mjs, event-loop.mjs, functions.mjs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsPromises from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { cpuPerCallSuite, idleCpuSuite } from './cpu.mjs';
import { eventLoopSuite, throughputSuite } from './event-loop.mjs';
import { inprocessFunctionCalls, ncpFunctionCalls } from './functions.mjs';
import { crashRecoverySuite, poolCpuPerCallSuite, poolIdleCpuSuite } from './pool.mjs';
import {
  QUICK,
  machineBusy,
  machineCpu,
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
  /** A plain grpc-js client of python/detect.proto's DetectRaw: (values) => Promise<Int32Array>. */
  function rawDetectClient(grpc, address) {
    const definition = require('@grpc/proto-loader').loadSync(
      path.join(ROOT, 'python', 'detect.proto'),
    );
    const { Outliers: Service } = grpc.loadPackageDefinition(definition).py_outliers;
    const client = new Service(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 1 << 30,
    });
    const PIECE = 1 << 20;
    return {
      detect: (values) =>
        new Promise((resolve, reject) => {
          const call = client.DetectRaw((error, reply) => {
            if (error) return reject(error);
            const bytes = reply.indices ?? Buffer.alloc(0); // proto3: an empty field is absent
            resolve(
              new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
            );
          });
          const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
          for (let at = 0; at < bytes.length; at += PIECE) {
            call.write({ values: bytes.subarray(at, at + PIECE) });
          }
          call.end();
        }),
    };
  }

  if (family === 'grpc') {
    const { Outliers, RemoteOutliers } = require(path.join(ROOT, 'dist', 'index.js'));
    const grpc = require('@grpc/grpc-js');
    // The baseline: the function served over gRPC as a team writes it, a plain grpc-js client
    // of one RPC (DetectRaw: the values' bytes in 1 MiB pieces, int32 indices back).
    const detector = rawDetectClient(grpc, config.detectAddress);
    const trivial = rawDetectClient(grpc, config.trivialAddress);
    const repeated = new RemoteOutliers(config.detectAddress, { encoding: 'repeated-double' });
    // The same servers through { remote }: the Functions service (any exported function), the
    // path RemoteOutliers takes too.
    const remoteDetector = new Outliers('outliers', 'detect', { remote: config.detectAddress });
    const remoteTrivial = new Outliers('trivial', 'noop', { remote: config.trivialAddress });
    // gRPC's own floor on loopback: the smallest unary call (the health Check) to the server.
    const health = grpc.loadPackageDefinition(
      require('@grpc/proto-loader').loadSync(path.join(ROOT, 'python', 'health.proto')),
    ).grpc.health.v1.Health;
    const healthClient = new health(config.trivialAddress, grpc.credentials.createInsecure());
    const check = () =>
      new Promise((resolve, reject) =>
        healthClient.Check({ service: '' }, (error, reply) =>
          error ? reject(error) : resolve(reply),
        ),
      );
    return {
      sync: {},
      async: {
        grpc: (v) => detector.detect(v),
        grpc_repeated: (v) => repeated.detect(v),
        grpc_trivial: (v) => trivial.detect(v),
        remote: (v) => remoteDetector.detectAsync(v),
        remote_trivial: (v) => remoteTrivial.detectAsync(v),
        grpc_floor: () => check(),
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
  if (family === 'pool') {
    // Worker processes (ProcessPool): this process loads no libpython.
    const { Outliers, ProcessPool } = require(path.join(ROOT, 'dist', 'index.js'));
    const pool = new ProcessPool({
      processes: config.processes ?? 1,
      sendAhead: config.sendAhead ?? false,
    });
    const detector = new Outliers('outliers', 'detect', { pool });
    const trivial = new Outliers('trivial', 'noop', { pool, paths: [PY_DIR] });
    // The same input in memory the pool handed out: no copy at all.
    const sharedInputs = new Map();
    const shared = (values) => {
      if (!sharedInputs.has(values.length)) {
        const array = pool.allocate(Float64Array, values.length);
        array.set(values);
        sharedInputs.set(values.length, array);
      }
      return sharedInputs.get(values.length);
    };
    return {
      sync: {},
      async: {
        pool_floor: lazily(echoRoundTrip),
        pool: (v) => detector.detectAsync(v),
        pool_shared: (v) => detector.detectAsync(shared(v)),
        pool_trivial: (v) => trivial.detectAsync(v),
        // The same calls, in the family that runs the low-latency mode (run.mjs).
        ll_pool: (v) => detector.detectAsync(v),
        ll_pool_trivial: (v) => trivial.detectAsync(v),
      },
      detector,
      pool,
      sharedInput: shared,
    };
  }
  throw new Error(`unknown family ${family}`);
}

/** `make()`'s function, made at the first call (a family that never calls it spawns nothing). */
function lazily(make) {
  let fn;
  return (...args) => (fn ??= make())(...args);
}

/**
 * The floor of any worker process's call: a plain python that echoes what it reads, on a socketpair
 * as a worker's control channel is (fd 3), and a 64-byte message there and back, through Node's
 * streams as the pool's own messages go. No IPC design of a pool call costs less than this.
 */
function echoRoundTrip() {
  const { interpreterToRun } = require(path.join(ROOT, 'dist', 'interpreter.js'));
  const echo =
    'import os\nwhile True:\n    d = os.read(3, 65536)\n    if not d: break\n    os.write(3, d)';
  const child = spawn(interpreterToRun().file, ['-c', echo], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  const channel = child.stdio[3];
  channel.unref();
  child.unref();
  const message = Buffer.alloc(64, 7);
  let waiting;
  let got = 0;
  channel.on('data', (chunk) => {
    got += chunk.length;
    if (got >= message.length) {
      got = 0;
      waiting();
    }
  });
  return () =>
    new Promise((resolve) => {
      waiting = resolve;
      channel.write(message);
    });
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
  // The whole machine's CPU over the timed window only (not the warm-up's one call at a time).
  const cpu0 = machineCpu();
  const lane = async () => {
    while (performance.now() - t0 < roundMs) {
      await call(values);
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return {
    perSecond: n / ((performance.now() - t0) / 1000),
    machineBusy: machineBusy(cpu0, machineCpu()),
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

  // Event-loop delay while streams of calls run (bench/suites/event-loop.mjs).
  eventLoop: () => eventLoopSuite(calls.detector, input),

  // Throughput at 1k: sync against async with 64 in flight (bench/suites/event-loop.mjs).
  throughput: () => throughputSuite(calls.detector, input),

  // CPU time per call and while idle (bench/suites/cpu.mjs).
  cpuPerCall: (request) => cpuPerCallSuite(calls.detector, input, request),
  idleCpu: ({ ms }) => idleCpuSuite(calls.detector, input, ms),

  // Worker processes: the time from a crash to the next good call, and CPU while idle
  // (bench/suites/pool.mjs).
  crashRecovery: ({ times }) => crashRecoverySuite(calls.pool, calls.detector, input, times),
  poolIdleCpu: ({ ms }) => poolIdleCpuSuite(calls.pool, calls.detector, input, ms),
  poolCpuPerCall: (request) => poolCpuPerCallSuite(calls.pool, calls.detector, input, request),

  // detectAsync throughput with `inFlight` calls in flight on `size` values, for the Python
  // thread count (or worker processes) this process runs with (run.mjs starts one process per
  // count).
  // `shared`: the input lies in memory the pool handed out (pool.allocate).
  threadThroughput: ({ size, inFlight, roundMs, shared }) =>
    streamThroughput(
      (values) => calls.detector.detectAsync(shared ? calls.sharedInput(values) : values),
      size,
      inFlight,
      roundMs,
    ),

  // RemoteOutliers throughput against the server at `address` (run.mjs starts one per worker
  // count), with `inFlight` calls in flight on `size` values.
  remoteThroughput: ({ address, size, inFlight, roundMs }) => {
    // Outliers with { remote }: the Functions service, as PythonFunction calls it.
    if (!remotes.has(address)) {
      const { Outliers } = require(path.join(ROOT, 'dist', 'index.js'));
      remotes.set(address, new Outliers('outliers', 'detect', { remote: address }));
    }
    const remote = remotes.get(address);
    return streamThroughput((values) => remote.detectAsync(values), size, inFlight, roundMs);
  },
});
