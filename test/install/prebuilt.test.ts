// The prebuilt package (docs/install.md) as a user installs it: `make prebuilds && npm pack`, then
// the tarball installed in a scratch project on each Node line, in a machine state with no
// compiler and no Python headers, and run against the Python environments users have.
// `make test-prebuilt` runs it (root: it hides the compiler and the headers in a mount
// namespace); in the plain suite it is skipped.
//
// Every command runs through spawnAsync (test/spawn.ts): a compile takes about a minute, and a
// test worker blocked that long loses its connection to vitest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { QUICK_START_CJS, QUICK_START_PRINTS, QUICK_START_TS, readmeBlock } from './readme.js';
import { type Ran, spawnAsync, spawnOutput } from '../spawn.js';

const ROOT = path.resolve(__dirname, '..', '..');
const APP = path.join(__dirname, 'prebuilt', 'app.cjs');
const VENV_PYTHON = process.env['PY_OUTLIERS_TEST_VENV_PYTHON'] ?? '';
const VENV = path.dirname(path.dirname(VENV_PYTHON));
const DEBIAN_PYTHON = process.env['PY_OUTLIERS_TEST_DEBIAN_PYTHON'] ?? '';
const MAJORS = (process.env['PY_OUTLIERS_TEST_NODE_MAJORS'] ?? '').split(/\s+/).filter(Boolean);
const PYENV_ROOT = path.join(os.homedir(), '.pyenv', 'versions');
const FIX_SOURCE = 'PY_OUTLIERS_BUILD_FROM_SOURCE=1 npm rebuild py-outliers';

/** Runs a command that must succeed, in the checkout; its stdout. */
function output(file: string, args: string[]): Promise<string> {
  return spawnOutput(file, args, { cwd: ROOT });
}

/** pyenv's Python 3.12 or 3.13 (other minors than the prebuilt binaries'; no numpy in them). */
function otherMinorPython(minor = '3.12'): string {
  const version = fs.readdirSync(PYENV_ROOT).find((name) => name.startsWith(`${minor}.`));
  if (version === undefined) throw new Error(`no pyenv Python ${minor} in ${PYENV_ROOT}`);
  return path.join(PYENV_ROOT, version, 'bin', `python${minor}`);
}

let work = '';
let tarball = '';
let secondVenv = '';

/**
 * Runs `command` as a user's machine without a build toolchain would: in a mount namespace
 * where /usr/include and pyenv's include folders are empty (no Python.h, no Node headers), with a
 * PATH of only `bin` (node, npm, sh; no g++, c++, cc, make, and python3 only if `bin` has it).
 */
function sandboxed(
  bin: string,
  cwd: string,
  command: string[],
  env: Record<string, string> = {},
  setup = 'true',
): Promise<Ran> {
  const hide = [
    '/usr/include',
    ...fs.readdirSync(PYENV_ROOT).map((v) => path.join(PYENV_ROOT, v, 'include')),
  ]
    .filter((dir) => fs.existsSync(dir))
    .map((dir) => `/bin/mount -t tmpfs none '${dir}'`)
    .concat(setup)
    .join(' && ');
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(PY_OUTLIERS_|VIRTUAL_ENV$|CC$|CXX$|npm_|PYTHON)/.test(key),
    ),
  ) as Record<string, string>;
  return spawnAsync(
    '/usr/bin/unshare',
    ['-m', '/bin/sh', '-c', `${hide} && exec "$@"`, 'sandbox', ...command],
    {
      cwd,
      env: { ...clean, PATH: bin, npm_config_audit: 'false', npm_config_fund: 'false', ...env },
    },
  );
}

/** A folder with just what installing and running a Node program needs, for Node `major`. */
async function binFor(major: string, extra: Record<string, string> = {}): Promise<string> {
  // One folder per set of links: the same name may link to another interpreter.
  const name = Object.entries(extra)
    .map(([link, target]) => `${link}-${path.basename(target)}`)
    .join('-');
  const bin = path.join(work, `bin-${major}-${name || 'plain'}`);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(bin);
  const links: Record<string, string> = {
    node: path.join(ROOT, '.cache', `node-${major}`, 'bin', 'node'),
    npm: fs.realpathSync((await output('sh', ['-c', 'command -v npm'])).trim()),
    sh: '/bin/sh',
    ...extra,
  };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(bin, name));
  return bin;
}

interface Report {
  detect: number[];
  detectAsync: number[];
  worker: number[];
  sameInWorker: boolean;
  prebuilt: boolean;
  executable: string;
  prefix: string;
  libpython: string;
  numpy: string;
  python: string;
}

/** What test/install/prebuilt/app.cjs must print on every Python, whatever its numpy. */
const EVERYWHERE = {
  detect: [7],
  detectAsync: [7],
  cumsum: { type: 'BigInt64Array', values: ['1', '3', '6'] },
  multiply: { type: 'Float32Array', values: ['3', '4'] },
  sumAxis0: { type: 'Float64Array', values: ['5', '7', '9'] },
  sorted: { type: 'Float64Array', length: 20_000, first: 1, last: 20_000 },
  error: { python: true, type: 'ValueError', traceback: true },
  worker: [3],
  sameInWorker: true,
};

/** Runs the project's app (test/install/prebuilt/app.cjs) in the sandbox; what it reported. */
async function runApp(
  project: string,
  bin: string,
  env: Record<string, string> = {},
): Promise<Report> {
  const ran = await sandboxed(bin, project, ['node', 'app.cjs'], env);
  expect(ran.stderr).toBe('');
  expect(ran.status).toBe(0);
  const report = JSON.parse(ran.stdout) as Report;
  expect(report).toMatchObject(EVERYWHERE);
  return report;
}

/** What `new Outliers()` throws in `project`, run in the sandbox: the error's fields. */
async function startError(
  bin: string,
  project: string,
  env: Record<string, string> = {},
  setup?: string,
): Promise<{ name: string; code: string; message: string; cause?: string }> {
  const ran = await sandboxed(
    bin,
    project,
    [
      'node',
      '-e',
      `const { Outliers } = require('py-outliers');
       try { new Outliers(); } catch (e) {
         console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause?.message }));
       }`,
    ],
    env,
    setup,
  );
  expect(ran.stderr).toBe('');
  return JSON.parse(ran.stdout);
}

/**
 * A scratch project with the app in it. `approve`: it allows the install script of the package
 * from that tarball (npm 11 skips dependencies' install scripts unless allowed; a prebuilt
 * binary needs none).
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
  fs.copyFileSync(APP, path.join(project, 'app.cjs'));
  return project;
}

/** The tarball unpacked, changed by `change(prebuildsDir)`, and packed again. */
async function repacked(name: string, change: (prebuilds: string) => void): Promise<string> {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  await output('tar', ['xzf', tarball, '-C', dir]);
  change(path.join(dir, 'package', 'prebuilds', 'linux-x64'));
  const file = path.join(work, `${name}.tgz`);
  await output('tar', ['czf', file, '-C', dir, 'package']);
  return file;
}

/** The environment a user's shell has: none of the npm_* variables that `npx vitest` sets. */
function userEnv(extra: Record<string, string>): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm_|PY_OUTLIERS_)/.test(key)),
  ) as Record<string, string>;
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', ...extra };
}

describe.skipIf(MAJORS.length === 0)('the prebuilt package', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-prebuilt-'));
    const packed = await output('npm', ['pack', '--silent', '--pack-destination', work]);
    tarball = path.join(work, packed.trim().split('\n').pop()!);
    const listing = await output('tar', ['tzvf', tarball]);
    const prebuiltBytes = listing
      .split('\n')
      .filter((line) => line.includes('package/prebuilds/'))
      .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[2]), 0);
    console.log(
      `tarball ${path.basename(tarball)}: ${fs.statSync(tarball).size} bytes packed; ` +
        `prebuilds/ ${prebuiltBytes} bytes unpacked`,
    );
    expect(listing).toMatch(/package\/prebuilds\/linux-x64\/python_loader\.glibc\.node/);
    expect(listing).toMatch(/package\/prebuilds\/linux-x64\/py_outliers_pool\.glibc\.node/);
    expect(listing).toMatch(/package\/prebuilds\/linux-x64\/manifest\.json/);
    // Another venv of the same Python, with another numpy: the switch at run time.
    secondVenv = path.join(work, 'second-venv');
    await output(VENV_PYTHON, ['-m', 'venv', '--without-pip', secondVenv]);
    await output(VENV_PYTHON, [
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

  it('ships a binary per Node line that names no libpython path, and what they need', async () => {
    const dir = path.join(work, 'unpacked');
    fs.mkdirSync(dir);
    await output('tar', ['xzf', tarball, '-C', dir]);
    const prebuilds = path.join(dir, 'package', 'prebuilds', 'linux-x64');
    const names = fs.readdirSync(prebuilds).sort();
    for (const major of MAJORS) {
      const node = path.join(ROOT, '.cache', `node-${major}`, 'bin', 'node');
      const abi = (await output(node, ['-p', 'process.versions.modules'])).trim();
      expect(names).toContain(`py_outliers.abi${abi}.glibc.cp311.node`);
    }
    let newestGlibc = '0';
    for (const name of names.filter((n) => n.endsWith('.node'))) {
      const file = path.join(prebuilds, name);
      const dynamic = await output('readelf', ['-d', file]);
      if (name.startsWith('py_outliers.')) {
        expect(dynamic).toMatch(/NEEDED.*libpython3\.11\.so\.1\.0/);
      }
      expect(dynamic).not.toMatch(/RPATH|RUNPATH/);
      for (const [, version] of (await output('objdump', ['-T', file])).matchAll(
        /GLIBC_([\d.]+)/g,
      )) {
        if (version!.localeCompare(newestGlibc, 'en', { numeric: true }) > 0)
          newestGlibc = version!;
      }
    }
    // The manifest names the newest glibc any binary needs: the install compares the machine's.
    const manifest = JSON.parse(fs.readFileSync(path.join(prebuilds, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ python: '3.11', glibc: newestGlibc });
    expect(manifest.glibcxx).toMatch(/^3\.4\.\d+$/);
  });

  it.each(MAJORS)(
    'Node %s: installs in a build stage with no compiler, no Python headers and no Python; then runs on each Python',
    async (major) => {
      const bin = await binFor(major);
      const stage = newProject(`node-${major}-build-stage`, tarball);
      // The sandbox is what it claims to be.
      const probe = await sandboxed(bin, stage, [
        'sh',
        '-c',
        'for t in g++ c++ cc gcc make python3 python; do command -v $t && exit 1; done; ' +
          `test ! -e /usr/include/python3.11/Python.h && ! ls ${PYENV_ROOT}/*/include/*/Python.h 2>/dev/null`,
      ]);
      expect(probe.stdout + probe.stderr).toBe('');
      expect(probe.status).toBe(0);

      const started = Date.now();
      const install = await sandboxed(bin, stage, [
        'npm',
        'install',
        '--no-fund',
        '--foreground-scripts',
        tarball,
      ]);
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `Node ${major}: npm install of the prebuilt tarball took ${seconds.toFixed(1)} s`,
      );
      expect(install.status, install.stderr).toBe(0);
      // The install script ran, found no Python (a build stage), and compiled nothing.
      expect(install.stderr).toContain('using the prebuilt binary');
      expect(install.stderr).toContain('no Python interpreter found now');
      expect(install.stderr + install.stdout).not.toMatch(/gyp|building from source/);
      expect(fs.existsSync(path.join(stage, 'node_modules', 'py-outliers', 'build'))).toBe(false);

      // The app copied elsewhere, as a Dockerfile's COPY --from does, and run there.
      const project = path.join(work, `node-${major}-runtime`);
      fs.cpSync(stage, project, { recursive: true, verbatimSymlinks: true });

      // The pyenv venv, chosen as the active venv.
      const inVenv = await runApp(project, bin, { VIRTUAL_ENV: VENV });
      expect(inVenv).toMatchObject({ prebuilt: true, prefix: VENV, numpy: '2.4.6' });
      expect(inVenv.libpython).toMatch(/\.pyenv\/versions\/3\.11\.\d+\/lib\/libpython3\.11\.so/);

      // Debian's python3.11 + python3-numpy (1.24: older than the numpy 2.x headers it was
      // built with) + libpython3.11, as python3 on PATH.
      const debian = await runApp(project, await binFor(major, { python3: DEBIAN_PYTHON }));
      expect(debian).toMatchObject({ prebuilt: true, prefix: '/usr' });
      expect(debian.libpython).toBe('/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0');
      expect(debian.numpy).toMatch(/^1\.2[3-9]\./);

      // Another venv of the same Python, switched to at run time.
      const second = await runApp(project, bin, {
        PY_OUTLIERS_PYTHON: path.join(secondVenv, 'bin', 'python'),
      });
      expect(second).toMatchObject({ prefix: secondVenv, numpy: '2.2.6' });

      // Another Python minor: the error names both versions and each fix, once per use.
      const other = await sandboxed(
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
      expect(first.message).toContain(FIX_SOURCE);
    },
    300_000,
  );

  it("works where npm skips the package's install script (npm 11's default)", async () => {
    const bin = await binFor(MAJORS[MAJORS.length - 1]!);
    const project = newProject('scripts-skipped');
    const install = await sandboxed(bin, project, ['npm', 'install', '--no-fund', tarball]);
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr).not.toContain('using the prebuilt binary');
    expect(await runApp(project, bin, { VIRTUAL_ENV: VENV })).toMatchObject({ prebuilt: true });
  }, 300_000);

  it('--build-from-source and PY_OUTLIERS_BUILD_FROM_SOURCE=1 build from source even where a prebuilt binary serves', async () => {
    // With no compiler and no headers a source build stops at its first check, quickly: that it
    // was tried at all is what this shows (the next test shows a source build through).
    const bin = await binFor(MAJORS[0]!);
    const project = newProject('forced', tarball);
    const venv = { VIRTUAL_ENV: VENV };
    const install = await sandboxed(
      bin,
      project,
      ['npm', 'install', '--foreground-scripts', tarball],
      venv,
    );
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr).toMatch(
      /using the prebuilt binary .*Python 3\.11 \('.*', chosen by \$VIRTUAL_ENV\)/,
    );

    const rebuild = (args: string[], env: Record<string, string>): Promise<Ran> =>
      sandboxed(
        bin,
        project,
        ['npm', 'rebuild', '--foreground-scripts', 'py-outliers', ...args],
        env,
      );
    for (const forced of [
      await rebuild(['--build-from-source'], venv),
      await rebuild([], { ...venv, PY_OUTLIERS_BUILD_FROM_SOURCE: '1' }),
    ]) {
      expect(forced.status).not.toBe(0);
      expect(forced.stderr).not.toContain('using the prebuilt binary');
      expect(forced.stderr).toContain("Python 3.11's C headers are missing");
    }
    // Unforced, a rebuild keeps the prebuilt binary, and the app still runs on it.
    const plain = await rebuild([], venv);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toContain('using the prebuilt binary');
    expect(await runApp(project, bin, venv)).toMatchObject({ prebuilt: true });
  }, 300_000);

  it('builds from source when no prebuilt binary matches the Node line, as before', async () => {
    // The same package without the binary for this Node: the install script compiles it.
    const noMatch = await repacked('no-match', (prebuilds) => {
      for (const name of fs.readdirSync(prebuilds)) {
        if (name.includes(`.abi${process.versions.modules}.`))
          fs.rmSync(path.join(prebuilds, name));
      }
    });
    const project = newProject('no-match-project', noMatch);
    const env = userEnv({ PY_OUTLIERS_PYTHON: VENV_PYTHON });
    const install = await spawnAsync('npm', ['install', '--foreground-scripts', noMatch], {
      cwd: project,
      env,
    });
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr).toContain('no prebuilt binary for Node');
    const ran = await spawnAsync(process.execPath, ['app.cjs'], { cwd: project, env });
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toMatchObject({ ...EVERYWHERE, prebuilt: false });
  }, 600_000);

  it.each([
    {
      needs: { glibc: '9.99' },
      says: /the prebuilt binaries need glibc 9\.99 or later, and this system has glibc \d+\.\d+; building from source/,
    },
    {
      needs: { glibcxx: '3.4.99' },
      says: /the prebuilt binaries need a libstdc\+\+ with GLIBCXX_3\.4\.99, and this system's \/\S+libstdc\+\+\.so\S* is older; building from source/,
    },
  ])(
    'a system older than the binaries need ($needs) builds from source at install, and says why',
    async ({ needs, says }) => {
      // The binaries' manifest asking for more than this machine has stands for an old system
      // (Debian 11's glibc 2.31, RHEL 9's GCC 11 libstdc++, against the binaries' 2.34 and GCC 12).
      const name = `too-new-${Object.keys(needs)[0]}`;
      const tooNew = await repacked(name, (prebuilds) => {
        const file = path.join(prebuilds, 'manifest.json');
        fs.writeFileSync(
          file,
          JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...needs }),
        );
      });
      const bin = await binFor(MAJORS[0]!);
      const project = newProject(`${name}-project`, tooNew);
      const install = await sandboxed(
        bin,
        project,
        ['npm', 'install', '--foreground-scripts', tooNew],
        {
          VIRTUAL_ENV: VENV,
        },
      );
      expect(install.stderr).toMatch(says);
      // No compiler here: the source build stops with what to install.
      expect(install.stderr).toContain("Python 3.11's C headers are missing");
      expect(install.status).not.toBe(0);
    },
    300_000,
  );

  it('a prebuilt binary that cannot load is a PythonStartError naming the fix', async () => {
    const damaged = await repacked('damaged', (prebuilds) => {
      for (const name of fs.readdirSync(prebuilds)) {
        if (name.startsWith('py_outliers.'))
          fs.writeFileSync(path.join(prebuilds, name), 'not an ELF file');
      }
    });
    const bin = await binFor(MAJORS[0]!);
    const project = newProject('damaged-project');
    expect((await sandboxed(bin, project, ['npm', 'install', damaged])).status).toBe(0);
    const error = await startError(bin, project, { VIRTUAL_ENV: VENV });
    expect(error).toMatchObject({ name: 'PythonStartError', code: 'ERR_PY_OUTLIERS_PYTHON_START' });
    expect(error.message).toMatch(
      /cannot load the prebuilt binary .*py_outliers\.abi\d+\.glibc\.cp311\.node/,
    );
    expect(error.message).toContain(FIX_SOURCE);
    expect(error.cause).toMatch(/invalid ELF header|file too short/);
  }, 300_000);

  it.each(['3.12', '3.13'])(
    'python3 %s first on PATH at install, no compiler: the install keeps the prebuilt binary and says what to set; the program runs on a 3.11 venv',
    async (minor) => {
      const bin = await binFor(MAJORS[0]!, { python3: otherMinorPython(minor) });
      const project = newProject(`python3-${minor}-on-path`, tarball);
      const install = await sandboxed(bin, project, [
        'npm',
        'install',
        '--foreground-scripts',
        tarball,
      ]);
      expect(install.status, install.stderr).toBe(0);
      expect(install.stderr).toContain(`is Python ${minor}; building from source for it`);
      expect(install.stderr).toContain('kept the prebuilt binary, for Python 3.11');
      expect(install.stderr).toContain('no C++ compiler');
      expect(install.stderr).toContain('PY_OUTLIERS_PYTHON=/path/to/python3.11');
      expect(fs.existsSync(path.join(project, 'node_modules', 'py-outliers', 'build'))).toBe(false);
      // The same python3 first on PATH at run time, and the 3.11 venv active: it is the venv's.
      expect(await runApp(project, bin, { VIRTUAL_ENV: VENV })).toMatchObject({
        prebuilt: true,
        prefix: VENV,
      });
    },
    300_000,
  );

  it('another Python minor at install time, with a compiler: a build that cannot succeed keeps the prebuilt binary', async () => {
    const project = newProject('other-minor-install', tarball);
    const env = userEnv({ PY_OUTLIERS_PYTHON: otherMinorPython() });
    const install = await spawnAsync('npm', ['install', '--foreground-scripts', tarball], {
      cwd: project,
      env,
    });
    const printed = install.stdout + install.stderr;
    expect(install.status, printed).toBe(0);
    expect(printed).toContain('is Python 3.12; building from source for it');
    // pyenv's 3.12 has no numpy here: the source build's own reason, then the prebuilt binary
    // kept, and the fixes either way.
    expect(printed).toContain('numpy is not installed for the Python interpreter');
    expect(printed).toContain('kept the prebuilt binary, for Python 3.11');
    expect(printed).toContain('PY_OUTLIERS_BUILD_FROM_SOURCE=1 npm rebuild py-outliers');
    const ran = await spawnAsync(process.execPath, ['app.cjs'], {
      cwd: project,
      env: userEnv({ VIRTUAL_ENV: VENV }),
    });
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toMatchObject({ ...EVERYWHERE, prebuilt: true });

    // A ProcessPool needs no binary for that Python: its workers are plain python3.12 (no
    // numpy there: arrays are memoryviews), and this process loads no libpython.
    const pooled = await spawnAsync(
      process.execPath,
      [
        '-e',
        `const { ProcessPool, PythonFunction } = require('py-outliers');
        (async () => {
          const pool = new ProcessPool({ processes: 1 });
          const sorted = await new PythonFunction('builtins', 'sorted', { pool }).callAsync([[3, 1, 2]]);
          const view = await new PythonFunction('builtins', 'memoryview', { pool }).callAsync([new Float64Array([1.5, 2.5])]);
          const version = await new PythonFunction('platform', 'python_version', { pool }).callAsync([]);
          const libpython = require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libpython');
          console.log(JSON.stringify({ sorted, view: Array.from(view), type: view.constructor.name, version, libpython }));
          await pool.close();
        })();`,
      ],
      { cwd: project, env },
    );
    expect(pooled.stderr).toBe('');
    expect(JSON.parse(pooled.stdout)).toMatchObject({
      sorted: [1, 2, 3],
      view: [1.5, 2.5],
      type: 'Float64Array',
      version: expect.stringMatching(/^3\.12\./),
      libpython: false,
    });
  }, 300_000);

  it("Debian's python3.11 without its libpython3.11 package: the error names the package", async () => {
    const bin = await binFor(MAJORS[0]!, { python3: DEBIAN_PYTHON });
    const project = newProject('no-libpython');
    expect((await sandboxed(bin, project, ['npm', 'install', tarball])).status).toBe(0);
    // The library gone from the machine as if the package were not installed: an overlay of
    // its folder, in the sandbox's own mount namespace, with the file removed.
    const lib = '/usr/lib/x86_64-linux-gnu';
    const upper = path.join(work, 'overlay-upper');
    const scratch = path.join(work, 'overlay-work');
    const error = await startError(
      bin,
      project,
      {},
      `/bin/mkdir -p '${upper}' '${scratch}' && /bin/mount -t overlay overlay ` +
        `-o lowerdir=${lib},upperdir='${upper}',workdir='${scratch}' ${lib} && ` +
        `/bin/rm -f ${lib}/libpython3.11.so*`,
    );
    expect(error.name).toBe('PythonStartError');
    expect(error.message).toContain('cannot load libpython3.11.so.1.0');
    expect(error.message).toContain('apt-get install libpython3.11');
  }, 300_000);

  it('the README quick start from the tarball: TypeScript on Node 24, CommonJS on Node 26', async () => {
    for (const [major, file, block] of [
      ['24', 'main.ts', QUICK_START_TS],
      ['26', 'main.cjs', QUICK_START_CJS],
    ] as const) {
      if (!MAJORS.includes(major)) continue;
      const bin = await binFor(major);
      const project = newProject(`quick-start-${major}`);
      fs.writeFileSync(
        path.join(project, 'package.json'),
        JSON.stringify({ name: 'quick-start', private: true, type: 'module' }),
      );
      fs.writeFileSync(path.join(project, file), readmeBlock(block));
      const install = await sandboxed(bin, project, ['npm', 'install', tarball]);
      expect(install.status, install.stderr).toBe(0);
      if (file === 'main.ts') {
        // Checked as a strict project checks it (the package's own types included), then run
        // as it is: Node 24 strips the types. @types/node comes with the package's
        // dependencies (protobufjs); else the checkout's stands in for the user's own.
        const types = path.join(project, 'node_modules', '@types', 'node');
        if (!fs.existsSync(types)) {
          fs.mkdirSync(path.dirname(types), { recursive: true });
          fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), types);
        }
        fs.writeFileSync(
          path.join(project, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              module: 'nodenext',
              strict: true,
              skipLibCheck: false,
              noEmit: true,
              types: ['node'],
            },
            files: ['main.ts'],
          }),
        );
        const tsc = await sandboxed(bin, project, [
          'node',
          path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          '.',
        ]);
        expect(tsc.stdout + tsc.stderr).toBe('');
      }
      const ran = await sandboxed(bin, project, ['node', '--no-warnings', file], {
        VIRTUAL_ENV: VENV,
      });
      expect(ran.stderr).toBe('');
      expect(ran.status).toBe(0);
      expect(ran.stdout).toMatch(QUICK_START_PRINTS);
    }
  }, 300_000);
});
