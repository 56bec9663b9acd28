// The benchmark: py-outliers in-process against the same Python function over gRPC, against
// node-calls-python, and against plain Python (the floor). `make bench` builds, then runs this.
//
// BENCH_QUICK=1 gives a fast smoke run (make test uses it so the benchmark cannot rot).
// Results: a table on stdout, and bench/results/{results.json,results.md,latency.svg}.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  BUDGET_MS,
  MIN_SAMPLES_PER_ROUND,
  QUICK,
  ROUNDS,
  SIZES,
  roundsFor,
  summarize,
} from './protocol/measure.mjs';
import { MODES, ONE_CPU, sizeLabel } from './protocol/labels.mjs';
import { writeReport } from './report/report.mjs';
import {
  Family,
  ONE_CPU_PREFIX,
  childFamily,
  inprocFamily,
  showProgress,
} from './protocol/family.mjs';
import { serviceLoad } from './suites/service.mjs';
import { startupCost } from './suites/startup.mjs';
import {
  LOW_LATENCY_US,
  cpuCallsFor,
  lowLatency,
  oneCpuQuota,
  processThroughput,
  serverWorkerThroughput,
  threadThroughput,
} from './suites/threads.mjs';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PY_DIR = path.join(HERE, 'python');
// The interpreter the addon was built against, so plain Python runs the same Python and numpy.
const BUILD_PYTHON = require(path.join(ROOT, 'dist', 'index.js')).buildInfo().executable;

// ---- main -----------------------------------------------------------------------------------
async function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    throw new Error('run `make bench` (it builds first)');
  }
  const { startGrpcServer } = require(path.join(ROOT, 'dist', 'index.js'));
  const servers = [];
  const stopServers = () => Promise.all(servers.map((s) => s.stop()));
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the gRPC servers\n`);
      stopServers().finally(() => process.exit(130));
    });
  }

  const all = [];
  const extra = {};
  const families = [];
  const tuned = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864';
  const child = path.join(HERE, 'suites', 'child.mjs');
  const plainPython = path.join(PY_DIR, 'plain_python.py');
  try {
    showProgress('starting the gRPC servers and the measuring processes');
    servers.push(await startGrpcServer());
    servers.push(
      await startGrpcServer({ moduleName: 'trivial', funcName: 'noop', paths: [PY_DIR] }),
    );
    const [detectServer, trivialServer] = servers;
    const big = (s) => s >= 1000;
    const any = () => true;
    const nonEmpty = (s) => s > 0;
    const hopSizes = (s) => s > 0 && s <= 1000;
    // Which modes each process measures, at which sizes.
    const plan = [
      [
        new Family('in-process', process.execPath, [child, 'inproc']),
        [
          ['inproc_trivial', any],
          ['sync_excess', nonEmpty],
          ['async_excess', nonEmpty],
          ['inproc', nonEmpty],
          ['async', nonEmpty],
          ['stat', nonEmpty],
        ],
      ],
      // The low-latency mode's hop, beside the stat it is judged against (the mode is fixed when
      // Python starts: a process of its own). At the sizes where a hop is not lost in the call.
      [
        new Family('in-process, low-latency mode', process.execPath, [child, 'inproc'], {
          PY_OUTLIERS_LOW_LATENCY_US: String(LOW_LATENCY_US),
        }),
        [
          ['ll_async', hopSizes],
          ['ll_stat', hopSizes],
          ['ll_sync_excess', hopSizes],
          ['ll_async_excess', hopSizes],
        ],
      ],
      [
        new Family('in-process, malloc tuning off', process.execPath, [child, 'inproc'], {
          PY_OUTLIERS_MALLOC_TUNING: '0',
        }),
        [['inproc_notune', big]],
      ],
      [
        new Family('gRPC client', process.execPath, [
          child,
          'grpc',
          JSON.stringify({
            detectAddress: detectServer.address,
            trivialAddress: trivialServer.address,
          }),
        ]),
        [
          ['grpc_trivial', any],
          ['grpc', nonEmpty],
          ['grpc_repeated', nonEmpty],
          ['remote_trivial', nonEmpty],
          ['remote', nonEmpty],
          ['grpc_floor', (s) => s === 1000],
        ],
      ],
      // Worker processes (ProcessPool, one worker): a process that loads no libpython.
      [
        new Family('worker processes', process.execPath, [
          child,
          'pool',
          JSON.stringify({ processes: 1 }),
        ]),
        [
          ['pool_trivial', nonEmpty],
          ['pool', nonEmpty],
          ['pool_floor', (s) => s === 1000],
          ['pool_shared', big],
        ],
      ],
      // The same with the low-latency mode (read when the pool is made: a process of its own).
      [
        new Family(
          'worker processes, low-latency mode',
          process.execPath,
          [child, 'pool', JSON.stringify({ processes: 1 })],
          { PY_OUTLIERS_LOW_LATENCY_US: String(LOW_LATENCY_US) },
        ),
        [
          ['ll_pool_trivial', hopSizes],
          ['ll_pool', hopSizes],
        ],
      ],
      [
        new Family('node-calls-python', process.execPath, [child, 'ncp']),
        [
          ['ncp_trivial', any],
          ['ncp', nonEmpty],
          ['ncp_async', nonEmpty],
        ],
      ],
      // The floor runs with the allocator thresholds the addon sets (docs/architecture.md, "malloc thresholds"): with
      // glibc's defaults plain Python pays the same page-fault churn, and is no floor.
      [
        new Family('plain Python', BUILD_PYTHON, [plainPython], { GLIBC_TUNABLES: tuned }),
        [
          ['python_trivial', any],
          ['python', nonEmpty],
        ],
      ],
      [
        new Family('plain Python, default malloc', BUILD_PYTHON, [plainPython, '_default_malloc']),
        [['python_default_malloc', big]],
      ],
    ];
    families.push(...plan.map(([family]) => family));
    const available = [];
    for (const [family, modes] of plan) {
      const { unavailable } = await family.request({ op: 'available' });
      if (unavailable) extra.skipped = [...(extra.skipped ?? []), `${family.name}: ${unavailable}`];
      else available.push(...modes.map(([mode, at]) => [family, mode, at]));
    }

    // Rounds interleave every mode at one size, in a rotating order, so that each ratio
    // compares measurements taken side by side in time on this noisy machine.
    for (const size of SIZES) {
      const cells = available.filter(([, , at]) => at(size));
      const samples = new Map(cells.map(([, mode]) => [mode, []]));
      const perRound = new Map(cells.map(([, mode]) => [mode, []])); // median of each round
      const rounds = roundsFor(size);
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < cells.length; i++) {
          const [family, mode] = cells[(i + round) % cells.length];
          showProgress(`size ${sizeLabel(size)}, round ${round + 1}/${rounds}: ${MODES[mode]}`);
          const answer = await family.request({
            op: 'measure',
            mode,
            size,
            budgetMs: BUDGET_MS / rounds,
            minSamples: MIN_SAMPLES_PER_ROUND,
          });
          samples.get(mode).push(...answer.samples);
          perRound.get(mode)[round] = summarize(answer.samples).medianUs;
        }
      }
      for (const [mode, list] of samples) {
        all.push({ mode, size, ...summarize(list), roundMediansUs: perRound.get(mode) });
      }
    }

    const inproc = families[0];
    showProgress('event-loop delay under sync and async streams on 1M values');
    Object.assign(extra, await inproc.request({ op: 'eventLoop' }));
    showProgress('throughput at 1k: detect against detectAsync with 64 in flight');
    Object.assign(extra, await inproc.request({ op: 'throughput' }));
    showProgress('CPU time per call, one at a time: detect against detectAsync');
    extra.cpuPerCall = [];
    for (const size of QUICK ? [1000] : [1000, 100_000, 1_000_000]) {
      const answer = await inproc.request({
        op: 'cpuPerCall',
        size,
        calls: cpuCallsFor(size),
        rounds: QUICK ? 2 : 6,
      });
      extra.cpuPerCall.push(answer.cpuPerCall);
    }
    showProgress('CPU time while idle, after a burst of calls');
    Object.assign(extra, await inproc.request({ op: 'idleCpu', ms: QUICK ? 500 : 2000 }));
    extra.threads = await threadThroughput(child, {
      // 9 rounds: at 1k the ratio's round-to-round noise is about ±5%, as much as the margin
      // the target allows; with 5 rounds the 4-thread ratio read 1.05x while the 2-thread one,
      // the same machine minutes apart, read 0.94x.
      rounds: QUICK ? 2 : 9,
      label: 'detectAsync throughput by Python threads',
    });
    extra.processes = await processThroughput(child, { rounds: QUICK ? 1 : 5 });
    const poolFamily = families.find((f) => f.name === 'worker processes');
    showProgress('worker processes: from a crash to the next good call; CPU while idle');
    Object.assign(extra, await poolFamily.request({ op: 'crashRecovery', times: QUICK ? 2 : 10 }));
    Object.assign(extra, await poolFamily.request({ op: 'poolIdleCpu', ms: QUICK ? 500 : 2000 }));
    showProgress('worker processes: CPU per call, default and low-latency mode');
    extra.poolCpuPerCall = [];
    const request = { op: 'poolCpuPerCall', size: 1000, calls: 2000, rounds: QUICK ? 2 : 6 };
    for (const name of ['worker processes', 'worker processes, low-latency mode']) {
      const family = families.find((f) => f.name === name);
      const { poolCpuPerCall } = await family.request(request);
      extra.poolCpuPerCall.push({
        mode: name.endsWith('mode') ? 'low-latency' : 'default',
        ...poolCpuPerCall,
      });
    }
    // The same with Node and its worker on one CPU (taskset -c 0; the worker inherits it): the
    // pool's own cost per call, without the cross-CPU wake-ups that a VM's halted vCPUs make
    // expensive and that decide, call by call, much of the rows above.
    const pinnedPool = childFamily('worker processes, one CPU', ONE_CPU_PREFIX, [
      child,
      'pool',
      JSON.stringify({ processes: 1 }),
    ]);
    try {
      const { poolCpuPerCall } = await pinnedPool.request(request);
      extra.poolCpuPerCall.push({ mode: `default, ${ONE_CPU}`, ...poolCpuPerCall });
    } finally {
      await pinnedPool.close();
    }
    const quota = oneCpuQuota();
    if (quota.unavailable) {
      extra.skipped = [
        ...(extra.skipped ?? []),
        `the rows inside a one-CPU quota: ${quota.unavailable}`,
      ];
    }
    try {
      if (!quota.unavailable) {
        extra.threadsOneCpu = await threadThroughput(child, {
          prefix: quota.prefix,
          sizes: QUICK ? [1000] : [1000, 100_000, 1_000_000],
          rounds: QUICK ? 1 : 5,
          label: 'detectAsync throughput by Python threads, one-CPU quota',
        });
      }
      extra.lowLatency = await lowLatency(child, quota.unavailable ? undefined : quota);
    } finally {
      quota.remove?.();
    }
    extra.serverWorkers = await serverWorkerThroughput(child, startGrpcServer);
    extra.startup = await startupCost();
    extra.service = await serviceLoad({
      quick: QUICK,
      progress: showProgress,
      python: BUILD_PYTHON,
    });
    showProgress('zero copy: the trivial call on 1 value against a large input, alternating');
    Object.assign(extra, await inproc.request({ op: 'zeroCopy' }));
    showProgress('PythonFunction: call overhead, a matrix in, a large result out');
    const ncpFamily = families.find((f) => f.name === 'node-calls-python');
    extra.functionCalls = {
      inprocess: (await inproc.request({ op: 'functionCalls' })).functionCalls,
      ncp: extra.skipped?.some((s) => s.startsWith('node-calls-python'))
        ? undefined
        : (await ncpFamily.request({ op: 'functionCalls' })).functionCalls,
    };
    Object.assign(extra, await inproc.request({ op: 'runtime' }));
    delete extra.ok;
  } finally {
    await Promise.all(families.map((f) => f.close()));
    await stopServers();
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python: extra.runtime?.pythonVersion,
    numpy: extra.runtime?.numpyVersion,
    mallocTuning: extra.runtime?.mallocTuning,
    quick: QUICK,
    date: new Date().toISOString(),
    rounds: ROUNDS,
    budgetMsPerCell: BUDGET_MS,
  };
  writeReport({ machine, results: all, ...extra });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
