// The suites that compare counts side by side: detectAsync throughput by Python thread count
// (with and without a one-CPU cgroup quota), the low-latency mode against the default, and
// RemoteOutliers throughput by gRPC server processes.
import fs from 'node:fs';
import path from 'node:path';

import { Family, ONE_CPU_PREFIX, inprocFamily, showProgress } from '../protocol/family.mjs';
import { CPUS, QUICK, summarize } from '../protocol/measure.mjs';
import { ONE_CPU, sizeLabel } from '../protocol/labels.mjs';

// ---- throughput by number of Python threads, and by server processes ------------------------

/**
 * Calls/s for each of `counts` at each size, in alternating rounds (the order rotates), so
 * that each ratio to the first count compares neighbours in time on this noisy machine.
 * `measure(k, size)` runs one round of count k and resolves to its { perSecond, machineBusy }.
 */
async function byCount({ counts, sizes, rounds, label, measure }) {
  const rows = [];
  for (const size of sizes) {
    const perRound = counts.map(() => []);
    // How busy the whole machine was: where the processes already keep every CPU busy with
    // one thread, process or server, a second one has nothing to run on.
    const busy = counts.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < counts.length; i++) {
        const k = (i + round) % counts.length;
        showProgress(`${label} at ${sizeLabel(size)}, round ${round + 1}/${rounds}: ${counts[k]}`);
        const { perSecond, machineBusy } = await measure(k, size);
        perRound[k].push(perSecond);
        busy[k].push(machineBusy);
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
      machineBusy: Object.fromEntries(counts.map((n, k) => [n, median(busy[k])])),
    });
  }
  return { rounds, counts, rows, cpus: CPUS };
}

export const THREAD_COUNTS = [1, 2, 4];
const THREAD_SIZES = QUICK ? [1000, 100_000] : [1000, 100_000, 1_000_000, 10_000_000];
const THREAD_IN_FLIGHT = 8;

/** How many one-at-a-time calls a cpuPerCall round makes at `size`: a few hundred ms' worth. */
export const cpuCallsFor = (size) => (QUICK ? 200 : size >= 1e6 ? 200 : size >= 1e5 ? 1000 : 5000);

/**
 * A cgroup v1 `cpu` group with a quota of one CPU, for the throughput rows "inside a one-CPU
 * container": { prefix (the command that starts a process inside it), remove() }, or
 * { unavailable } where none can be made (not root, no v1 cpu controller).
 */
export function oneCpuQuota() {
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
export async function threadThroughput(
  child,
  { prefix = [], sizes = THREAD_SIZES, rounds, label },
) {
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
        await families[k].request({
          op: 'threadThroughput',
          size,
          inFlight: THREAD_IN_FLIGHT,
          roundMs: QUICK ? 150 : size >= 10_000_000 ? 2000 : 600,
        }),
    });
    return { inFlight: THREAD_IN_FLIGHT, ...result };
  } finally {
    await Promise.all(families.map((f) => f.close()));
  }
}

/**
 * Worker processes beside Python threads: detectAsync calls/s with 8 in flight, for 1 and 2
 * in-process threads and 1 and 2 worker processes (a ProcessPool in a process that loads no
 * libpython), in alternating rounds. The worker processes run three ways: on an input Node
 * copies into shared memory for each call; on one from pool.allocate (no copy: what the workers
 * themselves scale to, without Node's copy on the same CPUs); and with sendAhead (opt-in: each
 * busy worker is sent its next call before it replies).
 */
export async function processThroughput(child, { rounds }) {
  const counts = [
    '1 thread',
    '2 threads',
    '1 process',
    '2 processes',
    '1 process, allocate',
    '2 processes, allocate',
    '1 process, sendAhead',
    '2 processes, sendAhead',
  ];
  // The family each count runs in (the allocate rows in the plain pools), and its input.
  const familyOf = [0, 1, 2, 3, 2, 3, 4, 5];
  const families = [
    ...[1, 2].map((n) =>
      inprocFamily(`in-process, ${n} Python threads`, child, [], {
        PY_OUTLIERS_THREADS: String(n),
      }),
    ),
    ...[false, true].flatMap((sendAhead) =>
      [1, 2].map(
        (n) =>
          new Family(`${n} worker processes${sendAhead ? ', sendAhead' : ''}`, process.execPath, [
            child,
            'pool',
            JSON.stringify({ processes: n, sendAhead }),
          ]),
      ),
    ),
  ];
  try {
    const result = await byCount({
      counts,
      sizes: QUICK ? [1000] : [1000, 100_000, 1_000_000],
      rounds,
      label: 'detectAsync throughput, threads against worker processes',
      measure: async (k, size) =>
        await families[familyOf[k]].request({
          op: 'threadThroughput',
          size,
          inFlight: THREAD_IN_FLIGHT,
          roundMs: QUICK ? 150 : 600,
          shared: k === 4 || k === 5,
        }),
    });
    return { inFlight: THREAD_IN_FLIGHT, ...result };
  } finally {
    await Promise.all(families.map((f) => f.close()));
  }
}

/** The low-latency mode's window in every bench row that runs it. */
export const LOW_LATENCY_US = 100;

/**
 * The low-latency mode against the default: CPU time and wall time per one-at-a-time call, each
 * in a process of its own (the mode is fixed when Python starts), with no quota and, where
 * `quota` is given, inside a one-CPU cgroup quota.
 */
export async function lowLatency(child, quota) {
  const rows = [];
  const settings = [
    ['default', {}],
    [
      `PY_OUTLIERS_LOW_LATENCY_US=${LOW_LATENCY_US}`,
      { PY_OUTLIERS_LOW_LATENCY_US: String(LOW_LATENCY_US) },
    ],
  ];
  // On one CPU (taskset -c 0) both threads of a hop share a core: what the hand-off itself
  // costs, without the cross-CPU wake-ups a VM's halted vCPUs make expensive.
  const places = [
    ['no quota', []],
    ...(quota ? [['one-CPU quota', quota.prefix]] : []),
    [ONE_CPU, ONE_CPU_PREFIX],
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
  return { lowLatencyUs: LOW_LATENCY_US, rows };
}

const WORKER_COUNTS = [1, 2, 4];
const WORKER_SIZES = QUICK ? [100_000] : [100_000, 1_000_000];
const REMOTE_IN_FLIGHT = 16;

/**
 * RemoteOutliers calls/s with 16 in flight against `grpc_server.py --workers N` (one server
 * per count, all running side by side), from one client process.
 */
export async function serverWorkerThroughput(child, startGrpcServer) {
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
        await client.request({
          op: 'remoteThroughput',
          address: servers[k].address,
          size,
          inFlight: REMOTE_IN_FLIGHT,
          roundMs: QUICK ? 300 : 1500,
        }),
    });
    return { inFlight: REMOTE_IN_FLIGHT, ...result };
  } finally {
    await client.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}
