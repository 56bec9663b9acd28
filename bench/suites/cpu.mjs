// CPU time: per call, one call at a time, and while idle after a burst: the measuring side of
// the CPU rows (run in the in-process measuring process, bench/suites/child.mjs).
import { performance } from 'node:perf_hooks';

import { summarize } from '../protocol/measure.mjs';

// CPU time per call, all threads of the process (process.cpuUsage), one call at a time on
// `size` values: detect against detectAsync, in alternating rounds, with the wall time beside.
export async function cpuPerCallSuite(detector, input, { size, calls: count, rounds }) {
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
}

// The process's CPU time over `ms` of idle, right after a burst of async calls: what the
// Python threads cost while there is nothing to do.
export async function idleCpuSuite(detector, input, ms) {
  for (const size of [1000, 1_000_000]) {
    const values = input(size);
    await Promise.all(Array.from({ length: 32 }, () => detector.detectAsync(values)));
  }
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(before);
  return { idleCpu: { ms, cpuMs: (used.user + used.system) / 1000 } };
}
