// Python threads: PY_OUTLIERS_THREADS / setPythonThreads() choose how many run async calls. Each
// count runs in a process of its own (it is fixed when Python starts), and every result is
// checked against the sync path, whatever order the calls finish in.
import { describe, expect, it } from 'vitest';

import { PACKAGE_ENTRY, PROBE_DIR, runNode } from '../helpers.js';

const PRELUDE = `
  const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
  const probe = (name) => new lib.Outliers('probe', name, { paths: [${JSON.stringify(PROBE_DIR)}] });
  const spiked = (length, at) => {
    const v = new Float64Array(length);
    for (let i = 0; i < length; i++) v[i] = ((i * 7919) % 1000) / 1000;
    v[at] = 1000;
    return v;
  };
  const report = (o) => o.detectAsync(new Float64Array(1)).catch((e) => JSON.parse(e.message));
  // The nice value of each of this process's threads, by name (/proc/self/task/<tid>/stat:
  // the name is in parentheses, nice is field 19, the 17th after them).
  const niceByThread = () => {
    const fs = require('fs');
    const out = {};
    for (const tid of fs.readdirSync('/proc/self/task')) {
      // A thread that ended since the listing (one of V8's or libuv's, more often under ASan's
      // timing) has no stat any more: it is not one whose priority is asserted.
      let stat;
      try {
        stat = fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
      } catch (e) {
        if (e.code === 'ENOENT' || e.code === 'ESRCH') continue;
        throw e;
      }
      const name = tid === String(process.pid) ? 'js' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      (out[name] ??= []).push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    }
    return out;
  };`;

async function run(
  body: string,
  env: NodeJS.ProcessEnv = {},
  prefix: string[] = [],
): Promise<Record<string, unknown>> {
  const r = await runNode(
    `${PRELUDE}\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });`,
    {
      env: { ...process.env, ...env },
      timeoutMs: 120_000,
      prefix,
    },
  );
  if (r.status !== 0) throw new Error(`child failed (${r.status} ${r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('Python threads', () => {
  for (const threads of [1, 2, 4]) {
    it(`${threads} thread(s): many calls in flight, mixed sizes and sync calls, all equal to sync`, async () => {
      const out = await run(
        `
        const o = new lib.Outliers();
        const sizes = [10, 1000, 70_000, 200_000];
        const inputs = [];
        for (let i = 0; i < 240; i++) {
          const length = sizes[i % sizes.length];
          inputs.push(spiked(length, (i * 37) % length));
        }
        const expected = inputs.map((v) => Array.from(o.detect(v)));
        let settled = 0;
        const calls = inputs.map((v) => o.detectAsync(v).finally(() => settled++));
        // Sync calls while the async ones run, on the JS thread, between Python threads.
        const sync = inputs.slice(0, 20).map((v) => Array.from(o.detect(v)));
        const results = (await Promise.all(calls)).map((r) => Array.from(r));
        // Several threads ran in parallel: sleeping calls (GIL released) on distinct threads.
        const sleeper = probe('sleep_then_argmax');
        await Promise.all(Array.from({ length: ${threads} }, () => sleeper.detectAsync(new Float64Array([0.3, 1]))));
        console.log(JSON.stringify({
          info: lib.runtimeInfo().pythonThreads,
          same: JSON.stringify(results) === JSON.stringify(expected),
          syncSame: JSON.stringify(sync) === JSON.stringify(expected.slice(0, 20)),
          settled,
          ranOn: (await report(probe('report_calls'))).threads,
        }));`,
        { PY_OUTLIERS_THREADS: String(threads) },
      );
      expect(out).toEqual({
        info: threads,
        same: true,
        syncSame: true,
        settled: 240,
        ranOn: threads,
      });
    });
  }

  it('setPythonThreads() before first use sets the count; later, only the same count passes', async () => {
    const out = await run(
      `
      const errors = [];
      for (const bad of [0, 65, 1.5, NaN, '2']) {
        try { lib.setPythonThreads(bad); } catch (e) { errors.push(e.name); }
      }
      lib.setPythonThreads(3);
      const info = lib.runtimeInfo();
      lib.setPythonThreads(3); // the running count: fine
      let late;
      try { lib.setPythonThreads(2); } catch (e) { late = e.message; }
      console.log(JSON.stringify({ errors, threads: info.pythonThreads, late }));`,
      { PY_OUTLIERS_THREADS: '1' }, // the call wins over the variable
    );
    expect(out).toEqual({
      errors: ['RangeError', 'RangeError', 'RangeError', 'RangeError', 'RangeError'],
      threads: 3,
      late: expect.stringMatching(
        /already runs with 3 threads.*setPythonThreads\(2\) came too late/,
      ),
    });
  });

  it('a malformed PY_OUTLIERS_THREADS, PY_OUTLIERS_LOW_LATENCY_US or PY_OUTLIERS_EXIT_TIMEOUT_MS is a start-up error that names it', async () => {
    for (const [name, value] of [
      ['PY_OUTLIERS_THREADS', 'many'],
      ['PY_OUTLIERS_THREADS', '0'],
      ['PY_OUTLIERS_THREADS', '65'],
      ['PY_OUTLIERS_LOW_LATENCY_US', '-5'],
      ['PY_OUTLIERS_LOW_LATENCY_US', '1001'],
      ['PY_OUTLIERS_EXIT_TIMEOUT_MS', 'soon'],
    ] as const) {
      const out = await run(
        `
        let message;
        try { new lib.Outliers(); } catch (e) { message = e.message; }
        console.log(JSON.stringify({ message }));`,
        { [name]: value },
      );
      expect(out['message']).toMatch(new RegExp(`${name} must be a whole number .*'${value}'`));
    }
  });

  it("Python's priority is the process's: our threads, a subprocess and a threading.Thread started in a call", async () => {
    // Run at nice 3, so that a thread of ours left at 0, or lowered further, shows: every
    // thread and child must inherit the JS thread's nice, as under `python`.
    const out = await run(
      `
      const o = new lib.Outliers();
      await Promise.all([o.detectAsync(spiked(1000, 3)), o.detectAsync(spiked(1000, 5))]);
      const reporter = probe('report_priorities');
      const viaAsync = await report(reporter);
      let viaSync;
      try { reporter.detect(new Float64Array(1)); } catch (e) { viaSync = JSON.parse(e.message); }
      const nice = niceByThread();
      console.log(JSON.stringify({ nice, viaAsync, viaSync }));`,
      { PY_OUTLIERS_THREADS: '2' },
      ['nice', '-n', '3'],
    );
    const nice = out.nice as Record<string, number[]>;
    const js = nice['js']![0]!;
    expect(js).toBe(3);
    expect(Object.keys(nice)).toEqual(expect.arrayContaining(['py-outliers/0', 'py-outliers/1']));
    // Every thread of the process: Node's, ours, and OpenBLAS's (named after thread 0).
    expect(new Set(Object.values(nice).flat())).toEqual(new Set([js]));
    expect(out.viaAsync).toEqual({ call: js, subprocess: js, thread: js });
    expect(out.viaSync).toEqual({ call: js, subprocess: js, thread: js });
  });

  it('an idle process uses no CPU after a burst of calls', async () => {
    // Idle threads sleep on a condition variable: 2 s of idle must cost (nearly) nothing. 20 ms
    // is a wide margin for the timer's own wake-ups and a loaded CI machine; a thread that
    // polled for work, even 1% of the time, would cost that much.
    const out = await run(
      `
      const o = new lib.Outliers();
      for (const size of [1000, 1000, 1_000_000]) {
        const v = spiked(size, 7);
        await Promise.all(Array.from({ length: 64 }, () => o.detectAsync(v)));
      }
      for (let i = 0; i < 500; i++) await o.detectAsync(spiked(1000, 7));
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const used = process.cpuUsage(before);
      console.log(JSON.stringify({ idleCpuMs: (used.user + used.system) / 1000 }));`,
      { PY_OUTLIERS_THREADS: '4' },
    );
    expect(out.idleCpuMs as number).toBeLessThan(20);
  });

  it('a call that sleeps outside the GIL does not hold up the calls queued behind it', async () => {
    // Two threads: while one sleeps 500 ms in time.sleep, the other runs the 1k-value calls
    // submitted after it, all of which settle before it does.
    const out = await run(
      `
      const o = new lib.Outliers();
      const slow = probe('sleep_then_argmax');
      let slowDone = false;
      const slowCall = slow.detectAsync(new Float64Array([0.5, 9])).then((r) => { slowDone = true; return Array.from(r); });
      const v = spiked(1000, 7);
      const before = await Promise.all(Array.from({ length: 200 }, () => o.detectAsync(v).then((r) => [r[0], slowDone])));
      console.log(JSON.stringify({
        slowResult: await slowCall,
        allBefore: before.every(([r, done]) => r === 7 && !done),
      }));`,
      { PY_OUTLIERS_THREADS: '2' },
    );
    expect(out).toEqual({ slowResult: [1], allBefore: true });
  });

  it("the low-latency mode's old name is not read, and says so once", async () => {
    const out = await run(
      `
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      new lib.Outliers();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      console.log(JSON.stringify({ lowLatencyUs: lib.runtimeInfo().lowLatencyUs, warnings }));`,
      { PY_OUTLIERS_SPIN_US: '100', PY_OUTLIERS_LOW_LATENCY_US: '' },
    );
    expect(out).toEqual({ lowLatencyUs: 0, warnings: ['PY_OUTLIERS_SETTING_RENAMED'] });
  });

  it('defaults: one Python thread, the low-latency mode off', async () => {
    const out = await run(
      `
      const { pythonThreads, lowLatencyUs, usableCpus } = lib.runtimeInfo();
      console.log(JSON.stringify({ pythonThreads, lowLatencyUs, usable: usableCpus >= 1 }));`,
      { PY_OUTLIERS_THREADS: '', PY_OUTLIERS_LOW_LATENCY_US: '' },
    );
    expect(out).toEqual({ pythonThreads: 1, lowLatencyUs: 0, usable: true });
  });

  for (const threads of [1, 2]) {
    it(`the low-latency mode (PY_OUTLIERS_LOW_LATENCY_US), ${threads} thread(s): results equal to sync, one at a time and many in flight`, async () => {
      const out = await run(
        `
        const o = new lib.Outliers();
        const inputs = Array.from({ length: 200 }, (_, i) => spiked([10, 1000, 70_000][i % 3], i % 10));
        const expected = JSON.stringify(inputs.map((v) => Array.from(o.detect(v))));
        const one = [];
        for (const v of inputs) one.push(Array.from(await o.detectAsync(v)));
        const many = (await Promise.all(inputs.map((v) => o.detectAsync(v)))).map((r) => Array.from(r));
        console.log(JSON.stringify({
          lowLatencyUs: lib.runtimeInfo().lowLatencyUs,
          one: JSON.stringify(one) === expected,
          many: JSON.stringify(many) === expected,
        }));`,
        { PY_OUTLIERS_THREADS: String(threads), PY_OUTLIERS_LOW_LATENCY_US: '200' },
      );
      expect(out).toEqual({ lowLatencyUs: 200, one: true, many: true });
    });
  }

  it('the low-latency mode is off on a single CPU (taskset): polling there holds the core', async () => {
    const out = await run(
      `console.log(JSON.stringify({ lowLatencyUs: lib.runtimeInfo().lowLatencyUs, usable: lib.runtimeInfo().usableCpus }));`,
      { PY_OUTLIERS_LOW_LATENCY_US: '100' },
      ['taskset', '-c', '0'],
    );
    expect(out).toEqual({ lowLatencyUs: 0, usable: 1 });
  });

  it('the low-latency mode polls only for its window: no CPU while idle after a burst', async () => {
    // As the default's test: 20 ms of CPU over 2 s of idle is a wide margin, and a mode that
    // kept polling past its 1 ms window (either side) would use most of a core.
    const out = await run(
      `
      const o = new lib.Outliers();
      const v = spiked(1000, 7);
      for (let i = 0; i < 2000; i++) await o.detectAsync(v);
      await Promise.all(Array.from({ length: 64 }, () => o.detectAsync(v)));
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const used = process.cpuUsage(before);
      console.log(JSON.stringify({ idleCpuMs: (used.user + used.system) / 1000 }));`,
      { PY_OUTLIERS_THREADS: '2', PY_OUTLIERS_LOW_LATENCY_US: '1000' },
    );
    expect(out.idleCpuMs as number).toBeLessThan(20);
  });

  for (const spin of ['0', '1000']) {
    it(`a Worker ends while its call is awaited (PY_OUTLIERS_LOW_LATENCY_US=${spin}): no crash, the process goes on`, async () => {
      // Terminated before, near and at the end of its call: the result is dropped with its
      // environment, and the Python thread goes on to the next call.
      const out = await run(
        `
      const { Worker } = require('node:worker_threads');
      const source = \`
        const lib = require(\${JSON.stringify(${JSON.stringify(PACKAGE_ENTRY)})});
        const { parentPort } = require('node:worker_threads');
        const o = new lib.Outliers('probe', 'sleep_then_argmax', { paths: [\${JSON.stringify(${JSON.stringify(PROBE_DIR)})}] });
        (async () => {
          for (let i = 0; i < 5; i++) await o.detectAsync(new Float64Array([0.02, 1]));
          o.detectAsync(new Float64Array([0.02, 1]));
          parentPort.postMessage('in flight');
        })();\`;
      let ended = 0;
      for (let round = 0; round < 3; round++) {
        const worker = new Worker(source, { eval: true });
        await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
        await new Promise((resolve) => setTimeout(resolve, 5 * round)); // before, near, at the end
        await worker.terminate();
        ended++;
      }
      const o = probe('argmax');
      const r = await o.detectAsync(new Float64Array([0, 5, 1]));
      console.log(JSON.stringify({ ended, r: Array.from(r) }));`,
        { PY_OUTLIERS_LOW_LATENCY_US: spin },
      );
      expect(out).toEqual({ ended: 3, r: [1] });
    });
  }

  it('close() with calls running on several threads: running ones finish, queued ones refuse', async () => {
    const out = await run(
      `
      const sleeper = probe('sleep_then_argmax');
      const running = [0, 1, 2].map(() => sleeper.detectAsync(new Float64Array([0.4, 1])));
      await new Promise((r) => setTimeout(r, 100)); // all three threads busy
      const queued = [0, 1].map(() =>
        sleeper.detectAsync(new Float64Array([0, 1])).then(() => 'resolved', (e) => e.name));
      sleeper.close();
      const ran = (await Promise.all(running)).map((r) => Array.from(r));
      const refused = await Promise.all(queued);
      console.log(JSON.stringify({ ran, refused }));`,
      { PY_OUTLIERS_THREADS: '3' },
    );
    expect(out).toEqual({ ran: [[1], [1], [1]], refused: ['ClosedError', 'ClosedError'] });
  });

  it('a Worker and the main thread call at once, on two Python threads', async () => {
    const out = await run(
      `
      const { Worker } = require('node:worker_threads');
      const worker = new Worker(\`
        const lib = require(\${JSON.stringify(${JSON.stringify(PACKAGE_ENTRY)})});
        const { parentPort } = require('node:worker_threads');
        const o = new lib.Outliers();
        (async () => {
          const v = new Float64Array(200_000).fill(1); v[123] = 1000;
          const r = await Promise.all(Array.from({ length: 40 }, () => o.detectAsync(v)));
          parentPort.postMessage(r.every((x) => x.length === 1 && x[0] === 123));
        })();\`, { eval: true });
      // Listening before the main thread's own calls: a message with no listener is lost.
      const answer = new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const o = new lib.Outliers();
      const v = spiked(200_000, 99);
      const mine = await Promise.all(Array.from({ length: 40 }, () => o.detectAsync(v)));
      const theirs = await answer;
      await worker.terminate();
      console.log(JSON.stringify({ mine: mine.every((x) => x.length === 1 && x[0] === 99), theirs }));`,
      { PY_OUTLIERS_THREADS: '2' },
    );
    expect(out).toEqual({ mine: true, theirs: true });
  });
});
