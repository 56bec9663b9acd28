// The library inside whole processes: exit codes, signals, module systems, broken setups.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { BUILD_PYTHON, PACKAGE_ENTRY, PROBE_DIR, ROOT, runNode } from '../helpers.js';

const REQUIRE = `const lib = require(${JSON.stringify(PACKAGE_ENTRY)});`;

describe('a process that uses the library', () => {
  it('detects and exits with code 0 (CommonJS)', async () => {
    const run = await runNode(`${REQUIRE}
      const o = new lib.Outliers();
      console.log(Array.from(o.detect(new Float64Array([1,1,1,1,1,1,1,1,1,1,1,40]))).join());`);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('11\n');
    expect(run.status).toBe(0);
  });

  it('works through import (ESM) as well, sharing one copy with require', async () => {
    const run = await runNode(
      `import { Outliers, PythonError, runtimeInfo } from 'py-outliers';
       import { createRequire } from 'node:module';
       const cjs = createRequire(import.meta.url)('py-outliers');
       console.log(cjs.Outliers === Outliers, cjs.PythonError === PythonError);
       console.log(new Outliers().detect(new Float64Array([0,0,0,0,0,0,0,0,0,0,0,5])).join());
       console.log(typeof runtimeInfo().numpyVersion);`,
      { args: ['--input-type=module'] },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('true true\n11\nstring\n');
    expect(run.status).toBe(0);
  });

  it('exits with code 0 when the last thing it did was leave Python objects behind', async () => {
    const run = await runNode(`${REQUIRE}
      const keep = new lib.Outliers('probe', 'keep', { paths: [${JSON.stringify(PROBE_DIR)}] });
      keep.detect(new Float64Array(1000));
      new lib.Outliers();`);
    expect(run.status).toBe(0);
  });

  it('process.exit() in the middle of work exits with that code', async () => {
    const run = await runNode(`${REQUIRE}
      const o = new lib.Outliers();
      o.detect(new Float64Array(10));
      process.exit(7);`);
    expect(run.status).toBe(7);
  });

  for (const when of ['idle', 'inside a long Python call']) {
    it(`Ctrl-C (SIGINT) still stops it, ${when}`, async () => {
      const body =
        when === 'idle'
          ? `setInterval(() => {}, 1000);`
          : `new lib.Outliers('probe', 'sleep_long', { paths: [${JSON.stringify(PROBE_DIR)}] })
               .detect(new Float64Array([30]));`;
      const child = spawn(
        process.execPath,
        ['-e', `${REQUIRE} new lib.Outliers(); console.log('ready'); ${body}`],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
      );
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      child.kill('SIGINT');
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      expect(signal).toBe('SIGINT');
      expect(code).toBe(null);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  }

  it("keeps Node's argv and does not install Python's signal handlers", async () => {
    const run = await runNode(`${REQUIRE}
      try { new lib.Outliers('probe', 'report_sys', { paths: [${JSON.stringify(PROBE_DIR)}] })
              .detect(new Float64Array(1)); }
      catch (e) { const r = JSON.parse(e.message); console.log(JSON.stringify(r.argv)); }
      console.log(process.listenerCount('SIGINT'));`);
    expect(run.stdout).toBe('[""]\n0\n');
  });
});

describe('a broken Python setup gives a clear error, not a crash', () => {
  it('an interpreter that does not exist', async () => {
    const run = await runNode(
      `${REQUIRE}
       for (let i = 0; i < 2; i++) {
         try { new lib.Outliers(); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
       }`,
      { env: { ...process.env, PY_OUTLIERS_PYTHON: '/nonexistent/venv/bin/python' } },
    );
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^PythonStartError: py-outliers: the Python interpreter '\/nonexistent\/venv\/bin\/python' does not exist/,
    );
    expect(lines[1]).toBe(lines[0]); // the first failure is the answer for the process
  });

  it('a venv made with another Python version', async () => {
    const venv = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-fake-venv-'));
    try {
      const real = fs.realpathSync(BUILD_PYTHON);
      fs.mkdirSync(path.join(venv, 'bin'));
      fs.symlinkSync(real, path.join(venv, 'bin', 'python'));
      fs.writeFileSync(
        path.join(venv, 'pyvenv.cfg'),
        `home = ${path.dirname(real)}\ninclude-system-site-packages = true\nversion = 3.99.1\n`,
      );
      const run = await runNode(
        `${REQUIRE} try { new lib.Outliers(); } catch (e) { console.log(e.message); }`,
        { env: { ...process.env, PY_OUTLIERS_PYTHON: path.join(venv, 'bin', 'python') } },
      );
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(
        /was made with Python 3\.99\.1, but py-outliers was built against Python 3\.\d+/,
      );
    } finally {
      fs.rmSync(venv, { recursive: true, force: true });
    }
  });
});
