// A broken or unusual Python setup is reported with its fix: at install time (what to install,
// named last in the output, where a person looks) and at start-up (which interpreter, which
// numpy, what to run). Install-time cases run scripts/install.js in an empty directory, so that
// nothing is built even if a check wrongly passed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { buildInfo } from '../../src/index.js';
import { BUILD_PYTHON, PACKAGE_ENTRY, ROOT, runNode } from '../helpers.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-setup-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** scripts/install.js with PY_OUTLIERS_PYTHON set; the output as a person would read it. */
function install(python: string): { status: number | null; lastLines: string } {
  // The source build's checks: also where the package has prebuilt binaries (make prebuilds),
  // which an install uses without asking the interpreter for headers.
  const run = spawnSync(
    process.execPath,
    [path.join(ROOT, 'scripts', 'install.js'), '--build-from-source'],
    {
      cwd: fs.mkdtempSync(path.join(scratch, 'cwd-')),
      env: { ...process.env, PY_OUTLIERS_PYTHON: python },
      encoding: 'utf8',
    },
  );
  const lines = (run.stdout + run.stderr).trimEnd().split('\n');
  return { status: run.status, lastLines: lines.slice(-8).join('\n') };
}

/**
 * A stand-in interpreter that answers the build's probe with `facts` (a real interpreter
 * cannot be made to lack its own headers), laid out in a folder of its own.
 */
function fakeInterpreter(facts: { headers: boolean; shared: boolean; libpython: boolean }) {
  const home = fs.mkdtempSync(path.join(scratch, 'fake-python-'));
  fs.mkdirSync(path.join(home, 'include'));
  fs.mkdirSync(path.join(home, 'lib'));
  if (facts.headers) fs.writeFileSync(path.join(home, 'include', 'Python.h'), '');
  if (facts.libpython) fs.writeFileSync(path.join(home, 'lib', 'libpython3.11.so'), '');
  const answer = JSON.stringify({
    executable: path.join(home, 'python3.11'),
    version: '3.11',
    include: path.join(home, 'include'),
    libdir: path.join(home, 'lib'),
    ldlibrary: 'libpython3.11.so',
    shared: facts.shared,
    numpy_include: null,
    numpy_version: null,
  });
  const exe = path.join(home, 'python3.11');
  fs.writeFileSync(exe, `#!/bin/sh\ncat <<'EOF'\n${answer}\nEOF\n`, { mode: 0o755 });
  return exe;
}

/** A venv of the build's Python with nothing installed in it (no numpy). */
function bareVenv(base = BUILD_PYTHON): string {
  const venv = fs.mkdtempSync(path.join(scratch, 'bare-venv-'));
  execFileSync(base, ['-m', 'venv', '--without-pip', venv]);
  return path.join(venv, 'bin', 'python');
}

/** Another installed CPython 3 whose major.minor differs from the build's, if the machine has one. */
function otherPython(): { exe: string; version: string } | undefined {
  const dirs = [
    ...fs
      .readdirSync(path.join(os.homedir(), '.pyenv', 'versions'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(os.homedir(), '.pyenv', 'versions', d.name, 'bin')),
    '/usr/bin',
    '/usr/local/bin',
  ].filter((d) => fs.existsSync(d));
  for (const dir of dirs) {
    for (const name of fs.readdirSync(dir)) {
      const version = /^python(3\.\d+)$/.exec(name)?.[1];
      if (version === undefined || version === buildInfo().pythonVersion) continue;
      const exe = path.join(dir, name);
      const check = spawnSync(exe, ['-c', 'import venv'], { encoding: 'utf8' });
      if (check.status === 0) return { exe, version };
    }
  }
  return undefined;
}

/**
 * The message of the error the first use of the library gives in a fresh process, checked to
 * be a PythonStartError (code ERR_PY_OUTLIERS_PYTHON_START) and the same on a second use.
 */
async function startError(env: NodeJS.ProcessEnv): Promise<string> {
  const run = await runNode(
    `const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
     const errors = [];
     for (const make of [() => new lib.Outliers(), () => new lib.PythonFunction('numpy', 'median')]) {
       try { make(); } catch (e) { errors.push(e); }
     }
     if (errors.length === 0) console.log(JSON.stringify({ started: true }));
     else console.log(JSON.stringify({
       count: errors.length,
       classes: errors.map((e) => e instanceof lib.PythonStartError && e.name === 'PythonStartError'),
       codes: errors.map((e) => e.code),
       messages: errors.map((e) => e.message),
     }));`,
    { env: { ...process.env, ...env } },
  );
  expect(run.status).toBe(0);
  const out = JSON.parse(run.stdout) as {
    started?: boolean;
    count: number;
    classes: boolean[];
    codes: string[];
    messages: string[];
  };
  if (out.started) return 'started';
  expect(out.count).toBe(2);
  expect(out.classes).toEqual([true, true]);
  expect(out.codes).toEqual(['ERR_PY_OUTLIERS_PYTHON_START', 'ERR_PY_OUTLIERS_PYTHON_START']);
  expect(out.messages[1]).toBe(out.messages[0]);
  return out.messages[0]!;
}

describe('install: a missing piece is named, with the fix, at the end of the output', () => {
  it('no Python.h: the development headers package, for Debian/Ubuntu and Fedora', () => {
    const r = install(fakeInterpreter({ headers: false, shared: true, libpython: true }));
    expect(r.status).toBe(1);
    expect(r.lastLines).toMatch(/no Python\.h in .*\/include/);
    expect(r.lastLines).toContain('apt-get install python3.11-dev');
    expect(r.lastLines).toContain('dnf install python3.11-devel');
    expect(r.lastLines).toContain('PY_OUTLIERS_PYTHON=');
    expect(r.lastLines.split('\n').at(-1)).toMatch(/^-+$/); // the banner closes the output
  });

  it('a Python built without a shared libpython', () => {
    const r = install(fakeInterpreter({ headers: true, shared: false, libpython: false }));
    expect(r.status).toBe(1);
    expect(r.lastLines).toContain('was built without --enable-shared');
    expect(r.lastLines).toContain('PYTHON_CONFIGURE_OPTS=--enable-shared');
  });

  it('headers but no libpython3.x.so', () => {
    const r = install(fakeInterpreter({ headers: true, shared: true, libpython: false }));
    expect(r.status).toBe(1);
    expect(r.lastLines).toMatch(/libpython3\.11\.so is missing/);
    expect(r.lastLines).toContain('apt-get install libpython3.11-dev');
  });

  it('no numpy in the chosen interpreter: that interpreter and the pip line', () => {
    const python = bareVenv();
    const r = install(python);
    expect(r.status).toBe(1);
    expect(r.lastLines).toContain(`numpy is not installed for the Python interpreter '${python}'`);
    expect(r.lastLines).toContain(`'${python}' -m pip install numpy`);
    expect(r.lastLines).toContain('PY_OUTLIERS_PYTHON=');
  });

  it('an interpreter that does not run', () => {
    const r = install('/nonexistent/bin/python3');
    expect(r.status).toBe(1);
    expect(r.lastLines).toContain("cannot run the Python interpreter '/nonexistent/bin/python3'");
  });

  it('numpy headers that are not the interpreter numpy stop the compile with a clear error', () => {
    // native/values/numpy_api.cc compiled on its own (syntax only) with the build's settings, once as
    // the build does it and once claiming another numpy's header versions.
    const config = (what: string) =>
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'python_config.js'), what], {
        env: { ...process.env, PY_OUTLIERS_PYTHON: BUILD_PYTHON },
        encoding: 'utf8',
      }).trim();
    const nodeDir = process.env['npm_config_nodedir'] ?? path.resolve(process.execPath, '../..');
    // binding.gyp's own defines (it is JSON once its comment lines are gone), then the helper's.
    const gyp = JSON.parse(
      fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, ''),
    ) as { targets: { defines: string[] }[] };
    const defines = [
      ...gyp.targets[0]!.defines.filter((d) => !d.startsWith('<!')),
      ...[...config('defines').matchAll(/'([^']*)'/g)].map((m) => m[1]!),
    ].map((d) => `-D${d}`);
    const napi = path.join(ROOT, 'node_modules', 'node-addon-api');
    const compile = (extra: string[]) =>
      spawnSync(
        'g++',
        [
          '-std=gnu++20',
          '-fsyntax-only',
          ...config('include-dirs')
            .split(' ')
            .map((d) => `-I${d}`),
          `-I${path.join(nodeDir, 'include', 'node')}`,
          `-I${napi}`,
          `-I${path.join(ROOT, 'native')}`,
          ...defines,
          ...extra,
          path.join(ROOT, 'native', 'values', 'numpy_api.cc'),
        ],
        { encoding: 'utf8' },
      );
    const right = compile([]);
    expect(right.stderr).toBe('');
    expect(right.status).toBe(0);
    const wrong = compile([
      '-UPY_OUTLIERS_NUMPY_API_VERSION',
      '-DPY_OUTLIERS_NUMPY_API_VERSION=0x1',
    ]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain(
      "the numpy headers on the include path are not those of the build interpreter's numpy",
    );
  });
});

describe('start-up: the wrong Python or numpy is named, with the fix', () => {
  const other = otherPython();

  it.runIf(other)(
    'a venv of another Python version, checked before numpy is imported',
    async () => {
      const message = await startError({ PY_OUTLIERS_PYTHON: bareVenv(other!.exe) });
      expect(message).toMatch(
        new RegExp(
          `was made with Python ${other!.version.replace('.', '\\.')}\\.\\d+, but py-outliers was built against Python ${buildInfo().pythonVersion.replace('.', '\\.')}`,
        ),
      );
      expect(message).not.toContain('numpy');
    },
  );

  it.runIf(other)('the interpreter of another Python version itself', async () => {
    const message = await startError({ PY_OUTLIERS_PYTHON: other!.exe });
    expect(message).toContain(`is Python ${other!.version}, but py-outliers was built against`);
    expect(message).toContain('npm rebuild py-outliers');
  });

  it('an interpreter of the right version without numpy: the pip line', async () => {
    const python = bareVenv();
    const message = await startError({ PY_OUTLIERS_PYTHON: python });
    expect(message).toContain(`cannot import numpy in the Python interpreter '${python}'`);
    expect(message).toContain(`'${python}' -m pip install numpy`);
  });

  it('a numpy whose C-API does not fit the build: rebuild', async () => {
    // A numpy that imports but has no C-API table, as numpy 2.x looks to a build against
    // numpy 1.x headers ("_ARRAY_API not found"); found first through PYTHONPATH.
    const fake = fs.mkdtempSync(path.join(scratch, 'fake-numpy-'));
    for (const sub of ['numpy', 'numpy/_core', 'numpy/core']) {
      fs.mkdirSync(path.join(fake, sub), { recursive: true });
      fs.writeFileSync(path.join(fake, sub, '__init__.py'), '__version__ = "9.0.0"\n');
      fs.writeFileSync(path.join(fake, sub, '_multiarray_umath.py'), '');
    }
    const message = await startError({ PYTHONPATH: fake });
    expect(message).toContain(`built against numpy ${buildInfo().numpyVersion}`);
    expect(message).toContain('is 9.0.0');
    expect(message).toContain('_ARRAY_API'); // numpy's own words, as the build saw them
    expect(message).toContain('Rebuild it against that numpy: npm rebuild py-outliers');
  });

  // The real thing, where the CI matrix provides it: an addon built against numpy 1.x, and an
  // interpreter of the same Python with numpy 2.x (named by the CI cell).
  const numpy2Python = process.env['PY_OUTLIERS_TEST_NUMPY2_PYTHON'];
  it.runIf(buildInfo().numpyVersion.startsWith('1.') && numpy2Python)(
    'built against numpy 1.x, run with numpy 2.x: rebuild',
    async () => {
      const message = await startError({ PY_OUTLIERS_PYTHON: numpy2Python });
      expect(message).toMatch(/built against numpy 1\.\d+\.\d+, but the numpy installed .* is 2\./);
      expect(message).toContain('npm rebuild py-outliers');
    },
  );
});
