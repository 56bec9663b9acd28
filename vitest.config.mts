import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Test files at once. vitest's default is one less than the CPUs, so a single file at a time on
// a 2-CPU machine (CI's). Most of the suite waits on child processes, sockets and timers rather
// than computing, and no test's threshold depends on having the machine to itself (thresholds
// on CPU time count the test's own process; wall-clock ones have wide margins), so two files
// run at once there: the suite takes about 95 s instead of 170 s on CI's machine. One CPU keeps
// one file at a time.
const cpus = availableParallelism();
const maxWorkers = Math.max(cpus - 1, Math.min(cpus, 2));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file gets its own process: CPython lives once per process and is never
    // stopped, so files share nothing. --expose-gc for the GC tests.
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    maxWorkers,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
