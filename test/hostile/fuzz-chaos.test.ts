// Chaos, seeded: random sync and async calls with aborts at every stage, close() from
// anywhere (argument getters included), garbage collections, Workers terminated at random
// moments, and process.exit() with work in flight (test/hostile/chaos/scenario.cjs). Each campaign runs
// in a child process whose exit code is asserted: a crash fails the test, not the runner.
// Sized by PY_OUTLIERS_FUZZ_SCALE and seeded by PY_OUTLIERS_FUZZ_SEED (helpers.ts).
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { FUZZ_SCALE, fuzzSeed, PACKAGE_ENTRY, PROBE_DIR } from '../helpers.js';
import { spawnAsync } from '../spawn.js';

const SCENARIO = path.join(__dirname, 'chaos', 'scenario.cjs');

interface Report {
  made: number;
  settled: number;
  outcomes: Record<string, number>;
  workers: number;
}

async function campaign(mode: 'main' | 'workers' | 'exit', salt: number, ops: number) {
  const seed = fuzzSeed(salt);
  const run = await spawnAsync(
    process.execPath,
    ['--expose-gc', SCENARIO, PACKAGE_ENTRY, PROBE_DIR, String(seed), String(ops), mode],
    { timeoutMs: 120_000 * FUZZ_SCALE },
  );
  // The seed in the assertion, so that a failure names what reproduces it.
  expect({ seed, status: run.status, signal: run.signal, stderr: run.stderr }).toEqual({
    seed,
    status: 0,
    signal: null,
    stderr: '',
  });
  return run.stdout === '' ? undefined : (JSON.parse(run.stdout) as Report);
}

describe('chaos: every promise settles once, nothing crashes', () => {
  it('calls, aborts, close() and GC on the main thread', async () => {
    for (let i = 0; i < 3; i++) {
      const report = (await campaign('main', 100 + i, 300 * FUZZ_SCALE))!;
      expect(report.settled).toBe(report.made);
      expect(report.made).toBeGreaterThan(50);
      // The campaign reached every way a call can end.
      for (const outcome of ['value', 'AbortError', 'ClosedError', 'PythonError', 'GetterError']) {
        expect(report.outcomes[outcome] ?? 0, outcome).toBeGreaterThan(0);
      }
    }
  });

  it('Workers doing the same, terminated at random moments; then the process goes on', async () => {
    const report = (await campaign('workers', 200, 150 * FUZZ_SCALE))!;
    expect(report.workers).toBeGreaterThanOrEqual(6);
    expect(report.settled).toBe(report.made);
  });

  it('process.exit() with calls in flight exits 0', async () => {
    for (let i = 0; i < 3; i++) expect(await campaign('exit', 300 + i, 200)).toBeUndefined();
  });
});
