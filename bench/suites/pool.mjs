// The worker processes' own suites, measured in the 'pool' family's process (child.mjs): the time
// from a crash to the next good call, the CPU a call costs Node and the worker, and the CPU the
// pool's processes use while idle.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import { summarize } from '../protocol/measure.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * `times` crashes (ctypes.string_at(0): SIGSEGV in a worker), each followed by a good call on 1k
 * values: the ms from the crash's rejection to the good call's result (the worker's replacement
 * started at the crash), and whether each crash cost exactly one call.
 */
export async function crashRecoverySuite(pool, detector, input, times) {
  const { ProcessExitError, PythonFunction } = require(path.join(ROOT, 'dist', 'index.js'));
  const crash = new PythonFunction('ctypes', 'string_at', { pool });
  const values = input(1000);
  await detector.detectAsync(values);
  const ms = [];
  let others = 0;
  for (let i = 0; i < times; i++) {
    const crashed = await crash.callAsync([0]).catch((error) => error);
    if (!(crashed instanceof ProcessExitError)) throw new Error(`no crash: ${crashed}`);
    const t0 = performance.now();
    await detector.detectAsync(values).catch(() => others++);
    ms.push(performance.now() - t0);
  }
  crash.close();
  return { crashRecovery: { times, ms: summarize(ms).medianUs, maxMs: Math.max(...ms), others } };
}

/** CPU time of a process by /proc (user + system), in ms. */
function processCpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

/** After a burst of calls, the CPU Node and every worker use over `ms` of idle. */
export async function poolIdleCpuSuite(pool, detector, input, ms) {
  for (const size of [1000, 1_000_000]) {
    const values = input(size);
    await Promise.all(Array.from({ length: 32 }, () => detector.detectAsync(values)));
  }
  const pids = pool.pids;
  const before = process.cpuUsage();
  const workersBefore = pids.map(processCpuMs);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(before);
  const workersMs = pids.map((pid, i) => processCpuMs(pid) - workersBefore[i]);
  return {
    poolIdleCpu: {
      ms,
      nodeCpuMs: (used.user + used.system) / 1000,
      workersCpuMs: workersMs.reduce((a, b) => a + b, 0),
      workers: pids.length,
    },
  };
}

/** CPU time of all threads of `pid`, in µs, from the scheduler's own count (ns, not ticks). */
function threadsCpuUs(pid) {
  let ns = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    ns += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1000;
}

/**
 * One call at a time on `size` values, `calls` a round: the CPU each call costs Node (all its
 * threads) and the worker (all its threads), and its wall time; medians of `rounds` rounds.
 */
export async function poolCpuPerCallSuite(pool, detector, input, { size, calls, rounds }) {
  const values = input(size);
  for (let i = 0; i < calls; i++) await detector.detectAsync(values);
  const [pid] = pool.pids;
  const perRound = { nodeUs: [], workerUs: [], wallUs: [] };
  for (let round = 0; round < rounds; round++) {
    const node = process.cpuUsage();
    const worker = threadsCpuUs(pid);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await detector.detectAsync(values);
    perRound.wallUs.push(((performance.now() - t0) * 1000) / calls);
    const used = process.cpuUsage(node);
    perRound.nodeUs.push((used.user + used.system) / calls);
    perRound.workerUs.push((threadsCpuUs(pid) - worker) / calls);
  }
  const median = (xs) => summarize(xs).medianUs;
  return {
    poolCpuPerCall: {
      size,
      calls,
      rounds,
      nodeUs: median(perRound.nodeUs),
      workerUs: median(perRound.workerUs),
      wallUs: median(perRound.wallUs),
    },
  };
}
