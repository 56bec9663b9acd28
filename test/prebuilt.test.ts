// The prebuilt package (docs/python-environment.md, "Prebuilt binaries") as a user installs it:
// `make prebuilds && npm pack`, then the tarball installed in a scratch project on each Node
// line, in a machine state with no compiler and no Python headers, and run against the Python
// environments users have. `make test-prebuilt` runs it (root: it hides the compiler and the
// headers in a mount namespace); in the plain suite it is skipped.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const VENV_PYTHON = process.env['PY_OUTLIERS_TEST_VENV_PYTHON'] ?? '';
const DEBIAN_PYTHON = process.env['PY_OUTLIERS_TEST_DEBIAN_PYTHON'] ?? '';
const MAJORS = (process.env['PY_OUTLIERS_TEST_NODE_MAJORS'] ?? '').split(/\s+/).filter(Boolean);
const PYENV_ROOT = path.join(os.homedir(), '.pyenv', 'versions');

/** pyenv's Python 3.12 (another minor than the prebuilt binaries'), if the machine has it. */
function otherMinorPython(): string {
  const version = fs.readdirSync(PYENV_ROOT).find((name) => name.startsWith('3.12.'));
  if (version === undefined) throw new Error(`no pyenv Python 3.12 in ${PYENV_ROOT}`);
  return path.join(PYENV_ROOT, version, 'bin', 'python3.12');
}

let work = '';
let tarball = '';
let secondVenv = '';

/**
 * Runs `command` as a user's machine without a build toolchain would: in a mount namespace
 * where /usr/include and pyenv's include folders are empty (no Python.h, no Node headers), with a
 * PATH of only `bin` (node, npm, sh; no g++, c++, cc, make).
 */
function sandboxed(
  bin: string,
  cwd: string,
  command: string[],
  env: Record<string, string> = {},
): SpawnSyncReturns<string> {
  const hide = [
    '/usr/include',
    ...fs.readdirSync(PYENV_ROOT).map((v) => path.join(PYENV_ROOT, v, 'include')),
  ]
    .filter((dir) => fs.existsSync(dir))
    .map((dir) => `/bin/mount -t tmpfs none '${dir}'`)
    .join(' && ');
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(PY_OUTLIERS_|VIRTUAL_ENV$|CC$|CXX$|npm_|PYTHON)/.test(key),
    ),
  ) as Record<string, string>;
  return spawnSync(
    '/usr/bin/unshare',
    ['-m', '/bin/sh', '-c', `${hide} && exec "$@"`, 'sandbox', ...command],
    {
      cwd,
      encoding: 'utf8',
      env: { ...clean, PATH: bin, npm_config_audit: 'false', npm_config_fund: 'false', ...env },
    },
  );
}

/** A folder with just what installing and running a Node program needs, for Node `major`. */
function binFor(major: string, extra: Record<string, string> = {}): string {
  const bin = path.join(work, `bin-${major}-${Object.keys(extra).join('-') || 'plain'}`);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(bin);
  const links: Record<string, string> = {
    node: path.join(ROOT, '.cache', `node-${major}`, 'bin', 'node'),
    npm: fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()),
    sh: '/bin/sh',
    ...extra,
  };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(bin, name));
  return bin;
}

// detect and detectAsync, then the same in a Worker (which loads the addon again, and must get
// the interpreter the main thread chose).
const SCRIPT = `
const { Worker } = require('node:worker_threads');
const { Outliers, buildInfo, runtimeInfo } = require('py-outliers');
const values = new Float64Array(1000).fill(1);
values[7] = 97;
const o = new Outliers();
o.detectAsync(values, { signal: AbortSignal.timeout(30_000) }).then((later) => {
  const info = runtimeInfo();
  const worker = new Worker(
    "const { Outliers, runtimeInfo } = require('py-outliers');" +
    "const v = new Float64Array(1000).fill(1); v[3] = 50;" +
    "require('node:worker_threads').parentPort.postMessage([Array.from(new Outliers().detect(v)), runtimeInfo().executable]);",
    { eval: true });
  worker.once('message', ([workerSync, workerExecutable]) => {
    console.log(JSON.stringify({ sync: Array.from(o.detect(values)), async: Array.from(later),
      worker: workerSync, sameInWorker: workerExecutable === info.executable,
      prebuilt: buildInfo().prebuilt, executable: info.executable, prefix: info.prefix,
      libpython: info.libpython, numpy: info.numpyVersion, python: info.pythonVersion }));
    o.close();
  });
});
`;

interface Ran {
  sync: number[];
  worker: number[];
  sameInWorker: boolean;
  async: number[];
  prebuilt: boolean;
  executable: string;
  prefix: string;
  libpython: string;
  numpy: string;
  python: string;
}

function runIn(project: string, bin: string, env: Record<string, string> = {}): Ran {
  const run = sandboxed(bin, project, ['node', '-e', SCRIPT], env);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as Ran;
}

/**
 * A scratch project. `approve`: it allows the install script of the package from `tgz` (npm 11
 * skips dependencies' install scripts unless allowed; a prebuilt binary needs none).
 */
function newProject(name: string, approve?: string): string {
  const project = path.join(work, name);
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({
      name: 'scratch',
      version: '1.0.0',
      private: true,
      ...(approve === undefined ? {} : { allowScripts: { [`file:${approve}`]: true } }),
    }),
  );
  return project;
}

/** The environment a user's shell has: none of the npm_* variables that `npx vitest` sets. */
function userEnv(extra: Record<string, string>): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm_|PY_OUTLIERS_)/.test(key)),
  ) as Record<string, string>;
  return { ...env, npm_config_audit: 'false', ...extra };
}

describe.skipIf(MAJORS.length === 0)('the prebuilt package', () => {
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-prebuilt-'));
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    tarball = path.join(work, packed.trim().split('\n').pop()!);
    const listing = execFileSync('tar', ['tzvf', tarball], { encoding: 'utf8' });
    const prebuiltBytes = listing
      .split('\n')
      .filter((line) => line.includes('package/prebuilds/'))
      .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[2]), 0);
    console.log(
      `tarball ${path.basename(tarball)}: ${fs.statSync(tarball).size} bytes packed; ` +
        `prebuilds/ ${prebuiltBytes} bytes unpacked`,
    );
    expect(listing).toMatch(/package\/prebuilds\/linux-x64\/python_loader\.glibc\.node/);
    // Another venv of the same Python, with another numpy: the switch at run time.
    secondVenv = path.join(work, 'second-venv');
    execFileSync(VENV_PYTHON, ['-m', 'venv', '--without-pip', secondVenv]);
    execFileSync(VENV_PYTHON, [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--target',
      path.join(secondVenv, 'lib', 'python3.11', 'site-packages'),
      'numpy==2.2.6',
    ]);
  }, 300_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('ships a binary per Node line that names no libpython path', () => {
    const dir = path.join(work, 'unpacked');
    fs.mkdirSync(dir);
    execFileSync('tar', ['xzf', tarball, '-C', dir]);
    const prebuilds = path.join(dir, 'package', 'prebuilds', 'linux-x64');
    const names = fs.readdirSync(prebuilds).sort();
    for (const major of MAJORS) {
      const abi = execFileSync(path.join(ROOT, '.cache', `node-${major}`, 'bin', 'node'), [
        '-p',
        'process.versions.modules',
      ])
        .toString()
        .trim();
      expect(names).toContain(`py_outliers.abi${abi}.glibc.cp311.node`);
    }
    for (const name of names.filter((n) => n.startsWith('py_outliers.'))) {
      const dynamic = execFileSync('readelf', ['-d', path.join(prebuilds, name)], {
        encoding: 'utf8',
      });
      expect(dynamic).toMatch(/NEEDED.*libpython3\.11\.so\.1\.0/);
      expect(dynamic).not.toMatch(/RPATH|RUNPATH/);
    }
  });

  it.each(MAJORS)(
    'Node %s: installs with no compiler and no Python headers, and runs on each Python',
    (major) => {
      const bin = binFor(major);
      const project = newProject(`node-${major}`, tarball);
      // The sandbox is what it claims to be.
      const probe = sandboxed(bin, project, [
        'sh',
        '-c',
        'for t in g++ c++ cc gcc make; do command -v $t && exit 1; done; ' +
          `test ! -e /usr/include/python3.11/Python.h && test ! -e ${PYENV_ROOT}/3.11.7/include/python3.11/Python.h`,
      ]);
      expect(probe.stdout + probe.stderr).toBe('');
      expect(probe.status).toBe(0);

      const started = Date.now();
      const install = sandboxed(
        bin,
        project,
        ['npm', 'install', '--no-fund', '--foreground-scripts', tarball],
        { VIRTUAL_ENV: path.dirname(path.dirname(VENV_PYTHON)) },
      );
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `Node ${major}: npm install of the prebuilt tarball took ${seconds.toFixed(1)} s`,
      );
      expect(install.status, install.stderr).toBe(0);
      // The install script ran, and compiled nothing.
      expect(install.stderr).toContain('using the prebuilt binary');
      expect(install.stderr + install.stdout).not.toMatch(/gyp|building from source/);
      const installed = path.join(project, 'node_modules', 'py-outliers');
      expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);

      // The pyenv venv, chosen as the active venv.
      const venv = path.dirname(path.dirname(VENV_PYTHON));
      const inVenv = runIn(project, bin, { VIRTUAL_ENV: venv });
      expect(inVenv).toMatchObject({ sync: [7], async: [7], prebuilt: true, prefix: venv });
      expect(inVenv).toMatchObject({ worker: [3], sameInWorker: true });
      expect(inVenv.libpython).toMatch(/\.pyenv\/versions\/3\.11\.\d+\/lib\/libpython3\.11\.so/);

      // Debian's python3.11 + python3-numpy (1.24: older than the numpy 2.x headers it was
      // built with) + libpython3.11, as python3 on PATH.
      const debian = runIn(project, binFor(major, { python3: DEBIAN_PYTHON }));
      expect(debian).toMatchObject({ sync: [7], async: [7], prebuilt: true, prefix: '/usr' });
      expect(debian.libpython).toBe('/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0');
      expect(debian.numpy).toMatch(/^1\./);

      // Another venv of the same Python, switched to at run time.
      const second = runIn(project, bin, {
        PY_OUTLIERS_PYTHON: path.join(secondVenv, 'bin', 'python'),
      });
      expect(second).toMatchObject({ sync: [7], async: [7], prefix: secondVenv, numpy: '2.2.6' });

      // Another Python minor: the error names both versions and each fix, once per use.
      const other = sandboxed(
        bin,
        project,
        [
          'node',
          '-e',
          `const { Outliers, PythonStartError } = require('py-outliers');
         for (let i = 0; i < 2; i++) {
           try { new Outliers(); } catch (e) {
             console.log(JSON.stringify({ start: e instanceof PythonStartError, code: e.code, message: e.message }));
           }
         }`,
        ],
        { PY_OUTLIERS_PYTHON: otherMinorPython() },
      );
      expect(other.status).toBe(0);
      const [first, again] = other.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(first).toEqual(again);
      expect(first.start).toBe(true);
      expect(first.code).toBe('ERR_PY_OUTLIERS_PYTHON_START');
      expect(first.message).toContain('prebuilt binaries are for Python 3.11');
      expect(first.message).toContain('is Python 3.12');
      expect(first.message).toContain('PY_OUTLIERS_PYTHON');
      expect(first.message).toContain('npm rebuild py-outliers --build-from-source');
    },
    300_000,
  );

  it("works where npm skips the package's install script (npm 11's default)", () => {
    const bin = binFor(MAJORS[MAJORS.length - 1]!);
    const project = newProject('scripts-skipped');
    const install = sandboxed(bin, project, ['npm', 'install', '--no-fund', tarball]);
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr).not.toContain('using the prebuilt binary');
    const venv = path.dirname(path.dirname(VENV_PYTHON));
    expect(runIn(project, bin, { VIRTUAL_ENV: venv })).toMatchObject({ sync: [7], prebuilt: true });
  }, 300_000);

  it('builds from source when no prebuilt binary matches the Node line, as before', () => {
    // The same package without the binary for this Node: the install script compiles it.
    const dir = path.join(work, 'no-match');
    fs.mkdirSync(dir);
    execFileSync('tar', ['xzf', tarball, '-C', dir]);
    const prebuilds = path.join(dir, 'package', 'prebuilds', 'linux-x64');
    for (const name of fs.readdirSync(prebuilds)) {
      if (name.includes(`.abi${process.versions.modules}.`)) fs.rmSync(path.join(prebuilds, name));
    }
    const repacked = path.join(work, 'no-match.tgz');
    execFileSync('tar', ['czf', repacked, '-C', dir, 'package']);
    const project = newProject('no-match-project', repacked);
    const env = userEnv({ PY_OUTLIERS_PYTHON: VENV_PYTHON });
    const install = spawnSync('npm', ['install', '--no-fund', '--foreground-scripts', repacked], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr).toContain('no prebuilt binary for Node');
    const run = spawnSync(process.execPath, ['-e', SCRIPT], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ sync: [7], async: [7], prebuilt: false });
  }, 600_000);

  it('another Python minor at install time: the source build runs, with its errors', () => {
    const project = newProject('other-minor-install', tarball);
    const env = userEnv({ PY_OUTLIERS_PYTHON: otherMinorPython() });
    const install = spawnSync('npm', ['install', '--no-fund', '--foreground-scripts', tarball], {
      cwd: project,
      env,
      encoding: 'utf8',
    });
    const output = install.stdout + install.stderr;
    expect(output).toContain('is Python 3.12; building from source');
    // pyenv's 3.12 has no numpy here: today's source-build error, with its fix.
    expect(output).toContain('numpy is not installed for the Python interpreter');
    expect(install.status).not.toBe(0);
  }, 300_000);
});
