// Long runs in a child process: memory and Python references must not grow with calls.
import { describe, expect, it } from 'vitest';

import { PACKAGE_ENTRY, PROBE_DIR, runNode } from './helpers.js';

const SCRIPT = `
  const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
  const o = new lib.Outliers();
  const live = new lib.Outliers('probe', 'report_live_objects', { paths: [${JSON.stringify(PROBE_DIR)}] });
  const counts = () => { try { live.detect(new Float64Array(1)); } catch (e) { return JSON.parse(e.message); } };
  const v = new Float64Array(1000).map((_, i) => (i * 7919 % 1000) / 1000); v[7] += 97;
  const rss = () => process.memoryUsage().rss / 2 ** 20;
  const SYNC = Number(process.env.SYNC_CALLS), ASYNC = Number(process.env.ASYNC_CALLS);
  (async () => {
    // Warm-up: allocator pools, JIT, Python caches reach their steady state.
    for (let i = 0; i < 20000; i++) o.detect(v);
    await Promise.all(Array.from({ length: 2000 }, () => o.detectAsync(v)));
    global.gc();
    const before = { rss: rss(), ...counts() };
    let bad = 0;
    const marks = {};
    for (let i = 0; i < SYNC; i++) {
      if (i === SYNC / 2) marks.syncHalf = rss();
      if (o.detect(v)[0] !== 7) bad++;
    }
    marks.syncEnd = rss();
    for (let done = 0; done < ASYNC; done += 500) {
      if (done === ASYNC / 2) { global.gc(); marks.asyncHalf = rss(); }
      const rs = await Promise.all(Array.from({ length: 500 }, () => o.detectAsync(v)));
      bad += rs.filter((r) => r[0] !== 7).length;
    }
    global.gc();
    await new Promise((r) => setTimeout(r, 100));
    marks.asyncEnd = rss();
    console.log(JSON.stringify({ before, marks, after: counts(), bad }));
  })();`;

describe('no leaks over many calls', () => {
  it('10^6 detect and 10^5 detectAsync calls on 1k values', () => {
    const run = runNode(SCRIPT, {
      args: ['--expose-gc'],
      env: { ...process.env, SYNC_CALLS: '1000000', ASYNC_CALLS: '100000' },
      timeoutMs: 600_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = JSON.parse(run.stdout) as {
      before: { rss: number; pins: number; detect: number };
      marks: { syncHalf: number; syncEnd: number; asyncHalf: number; asyncEnd: number };
      after: { pins: number; detect: number };
      bad: number;
    };
    const m = r.marks;
    console.log(
      `RSS MiB: ${r.before.rss.toFixed(1)} after warm-up; detect x10^6: ${m.syncHalf.toFixed(1)} ` +
        `at half, ${m.syncEnd.toFixed(1)} at end; detectAsync x10^5: ${m.asyncHalf.toFixed(1)} ` +
        `at half, ${m.asyncEnd.toFixed(1)} at end`,
    );
    expect(r.bad).toBe(0);
    // Growth over the second half of each run, once allocators have settled. The Go original
    // leaked ~184 bytes per call: 5*10^5 calls would add ~88 MiB. 4 MiB over 5*10^5 sync calls
    // is 8 bytes a call; over 5*10^4 async calls, 84 bytes a call.
    expect(m.syncEnd - m.syncHalf).toBeLessThan(4);
    expect(m.asyncEnd - m.asyncHalf).toBeLessThan(4);
    expect(m.asyncEnd - r.before.rss).toBeLessThan(48);
    // Python objects: no input view (pin) and no reference to the function left behind.
    expect(r.after.pins).toBe(r.before.pins);
    expect(r.after.detect).toBe(r.before.detect);
  }, 600_000);
});
