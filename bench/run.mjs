// The benchmark: py-outliers in-process against the same Python function over gRPC, against
// node-calls-python, and against plain Python (the floor). `make bench` builds, then runs this.
//
// BENCH_QUICK=1 gives a fast smoke run (make test uses it so the benchmark cannot rot).
// Results: a table on stdout, and bench/results/{results.json,results.md,latency.svg}.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import readline from 'node:readline';
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
} from './measure.mjs';
import { MODES, sizeLabel, writeReport } from './report.mjs';
import { serviceLoad } from './service.mjs';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
// The interpreter the addon was built against, so plain Python runs the same Python and numpy.
const BUILD_PYTHON = require(path.join(ROOT, 'dist', 'index.js')).buildInfo().executable;

// ---- progress -------------------------------------------------------------------------------
const started = Date.now();
let cells = 0;
function showProgress(text) {
  cells++;
  const line = `[${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] #${cells} ${text}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
  else process.stderr.write(`${line}\n`);
}

/** A long-lived measuring process (child.mjs or plain_python.py): JSON lines in and out. */
class Family {
  constructor(name, command, args, env = {}) {
    this.name = name;
    this.pending = [];
    this.stderr = '';
    this.child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stderr
      .setEncoding('utf8')
      .on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.child.on('error', (error) =>
      this.pending.splice(0).forEach(({ reject }) => reject(error)),
    );
    this.child.once('exit', (code) =>
      this.pending
        .splice(0)
        .forEach(({ reject }) =>
          reject(new Error(`${name} exited with code ${code}:\n${this.stderr}`)),
        ),
    );
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line);
      const { resolve, reject } = this.pending.shift();
      if (answer.ok) resolve(answer);
      else reject(new Error(`${name}: ${answer.error}`));
    });
  }

  request(message) {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  async close() {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---- throughput by number of Python threads, and by server processes ------------------------

/**
 * Calls/s for each of `counts` at each size, in alternating rounds (the order rotates), so
 * that each ratio to the first count compares neighbours in time on this noisy machine.
 * `measure(k, size)` runs one round of count k and resolves to its calls/s.
 */
async function byCount({ counts, sizes, rounds, label, measure }) {
  const rows = [];
  for (const size of sizes) {
    const perRound = counts.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < counts.length; i++) {
        const k = (i + round) % counts.length;
        showProgress(`${label} at ${sizeLabel(size)}, round ${round + 1}/${rounds}: ${counts[k]}`);
        perRound[k].push(await measure(k, size));
      }
    }
    const median = (xs) => summarize(xs).medianUs;
    rows.push({
      size,
      perSecond: Object.fromEntries(counts.map((n, k) => [n, median(perRound[k])])),
      // Paired by round: count n against the first in the same round.
      ratioTo1: Object.fromEntries(
        counts.map((n, k) => [n, median(perRound[k].map((v, r) => v / perRound[0][r]))]),
      ),
      perRound: Object.fromEntries(counts.map((n, k) => [n, perRound[k]])),
    });
  }
  return { rounds, counts, rows };
}

const THREAD_COUNTS = [1, 2, 4];
const THREAD_SIZES = QUICK ? [1000, 100_000] : [1000, 100_000, 1_000_000, 10_000_000];
const THREAD_IN_FLIGHT = 8;

/** An in-process measuring process (child.mjs inproc), started through `prefix` if any. */
function inprocFamily(name, child, prefix, env) {
  const [command, ...args] = [...prefix, process.execPath, child, 'inproc'];
  return new Family(name, command, args, env);
}

/** How many one-at-a-time calls a cpuPerCall round makes at `size`: a few hundred ms' worth. */
const cpuCallsFor = (size) => (QUICK ? 200 : size >= 1e6 ? 200 : size >= 1e5 ? 1000 : 5000);

/**
 * A cgroup v1 `cpu` group with a quota of one CPU, for the throughput rows "inside a one-CPU
 * container": { prefix (the command that starts a process inside it), remove() }, or
 * { unavailable } where none can be made (not root, no v1 cpu controller).
 */
function oneCpuQuota() {
  const root = '/sys/fs/cgroup/cpu';
  if (process.getuid?.() !== 0) return { unavailable: 'not root' };
  if (!fs.existsSync(path.join(root, 'cpu.cfs_quota_us'))) {
    return { unavailable: `no cgroup v1 cpu controller at ${root}` };
  }
  const dir = path.join(root, `py-outliers-bench-${process.pid}`);
  try {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), '100000');
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), '100000');
  } catch (error) {
    return { unavailable: `cannot make a cgroup: ${error.message}` };
  }
  return {
    // The shell joins the group, then becomes the measuring process.
    prefix: ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir],
    remove: () => fs.rmdirSync(dir),
  };
}

/**
 * detectAsync calls/s with 8 in flight, by Python thread count (a process each: the count is
 * fixed when Python starts); with `prefix`, each process starts through it (a CPU quota).
 */
async function threadThroughput(child, { prefix = [], sizes = THREAD_SIZES, rounds, label }) {
  const families = THREAD_COUNTS.map((n) =>
    inprocFamily(`in-process, ${n} Python threads`, child, prefix, {
      PY_OUTLIERS_THREADS: String(n),
    }),
  );
  try {
    const result = await byCount({
      counts: THREAD_COUNTS,
      sizes,
      rounds,
      label,
      measure: async (k, size) =>
        (
          await families[k].request({
            op: 'threadThroughput',
            size,
            inFlight: THREAD_IN_FLIGHT,
            roundMs: QUICK ? 150 : size >= 10_000_000 ? 2000 : 600,
          })
        ).perSecond,
    });
    return { inFlight: THREAD_IN_FLIGHT, ...result };
  } finally {
    await Promise.all(families.map((f) => f.close()));
  }
}

const SPIN_US = 100;

/**
 * The low-latency mode against the default: CPU time and wall time per one-at-a-time call, each
 * in a process of its own (the mode is fixed when Python starts), with no quota and, where
 * `quota` is given, inside a one-CPU cgroup quota.
 */
async function lowLatency(child, quota) {
  const rows = [];
  const settings = [
    ['default', {}],
    [`PY_OUTLIERS_SPIN_US=${SPIN_US}`, { PY_OUTLIERS_SPIN_US: String(SPIN_US) }],
  ];
  // On one CPU (taskset -c 0) both threads of a hop share a core: what the hand-off itself
  // costs, without the cross-CPU wake-ups a VM's halted vCPUs make expensive.
  const places = [
    ['no quota', []],
    ...(quota ? [['one-CPU quota', quota.prefix]] : []),
    ['one CPU (taskset -c 0)', ['taskset', '-c', '0']],
  ];
  for (const [where, prefix] of places) {
    for (const [mode, env] of settings) {
      const family = inprocFamily(`in-process, ${mode}, ${where}`, child, prefix, env);
      try {
        for (const size of QUICK ? [1000] : [1000, 100_000]) {
          showProgress(`low-latency mode: ${mode}, ${where}, ${sizeLabel(size)}`);
          const { cpuPerCall } = await family.request({
            op: 'cpuPerCall',
            size,
            calls: cpuCallsFor(size),
            rounds: QUICK ? 2 : 6,
          });
          rows.push({ mode, where, ...cpuPerCall });
        }
      } finally {
        await family.close();
      }
    }
  }
  return { spinUs: SPIN_US, rows };
}

const WORKER_COUNTS = [1, 2, 4];
const WORKER_SIZES = QUICK ? [100_000] : [100_000, 1_000_000];
const REMOTE_IN_FLIGHT = 16;

/**
 * RemoteOutliers calls/s with 16 in flight against `grpc_server.py --workers N` (one server
 * per count, all running side by side), from one client process.
 */
async function serverWorkerThroughput(child, startGrpcServer) {
  showProgress('starting gRPC servers with 1, 2 and 4 workers');
  const servers = await Promise.all(WORKER_COUNTS.map((workers) => startGrpcServer({ workers })));
  const client = new Family('gRPC client, server workers', process.execPath, [child, 'grpc']);
  try {
    const result = await byCount({
      counts: WORKER_COUNTS,
      sizes: WORKER_SIZES,
      rounds: QUICK ? 1 : 4,
      label: 'RemoteOutliers throughput by server workers',
      measure: async (k, size) =>
        (
          await client.request({
            op: 'remoteThroughput',
            address: servers[k].address,
            size,
            inFlight: REMOTE_IN_FLIGHT,
            roundMs: QUICK ? 300 : 1500,
          })
        ).perSecond,
    });
    return { inFlight: REMOTE_IN_FLIGHT, ...result };
  } finally {
    await client.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

// ---- start-up -------------------------------------------------------------------------------
/** Wall time of a process from spawn to exit, in ms. */
function runMs(command, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${command} exit ${code}`)),
    );
  });
}

/**
 * What importing py-outliers costs a process: `import` + `new Outliers()` + the first `detect`,
 * against bare node plus plain Python's `import numpy` (the floor: Python must start and numpy
 * must load either way), whole processes, side by side in each round.
 */
async function startupCost() {
  const entry = JSON.stringify(path.join(ROOT, 'dist', 'index.js'));
  const firstDetect = `const p = require(${entry}); new p.Outliers().detect(new Float64Array([1, 2, 3]));`;
  const rounds = QUICK ? 3 : 11;
  const rows = { node: [], numpy: [], firstDetect: [], extra: [] };
  for (let round = 0; round < rounds; round++) {
    showProgress(`start-up, round ${round + 1}/${rounds}`);
    const node = await runMs(process.execPath, ['-e', '0']);
    const numpy = await runMs(BUILD_PYTHON, ['-c', 'import numpy']);
    const first = await runMs(process.execPath, ['-e', firstDetect]);
    rows.node.push(node);
    rows.numpy.push(numpy);
    rows.firstDetect.push(first);
    rows.extra.push(first - node - numpy);
  }
  const median = (xs) => summarize(xs).medianUs;
  return Object.fromEntries(Object.entries(rows).map(([k, xs]) => [`${k}Ms`, median(xs)]));
}

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
  const child = path.join(HERE, 'child.mjs');
  const plainPython = path.join(HERE, 'plain_python.py');
  try {
    showProgress('starting the gRPC servers and the measuring processes');
    servers.push(await startGrpcServer());
    servers.push(await startGrpcServer({ moduleName: 'trivial', funcName: 'noop', paths: [HERE] }));
    const [detectServer, trivialServer] = servers;
    const big = (s) => s >= 1000;
    const any = () => true;
    const nonEmpty = (s) => s > 0;
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
        ],
      ],
      [
        new Family('node-calls-python', process.execPath, [child, 'ncp']),
        [
          ['ncp_trivial', any],
          ['ncp', nonEmpty],
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
