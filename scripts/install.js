#!/usr/bin/env node
// The package's install (and build:native) script. With a prebuilt binary for this Node, CPU,
// libc and Python minor in the package (prebuilds/, made by `make prebuilds`), it compiles
// nothing; else it checks the Python it will build against, then runs `node-gyp rebuild`.
// Where a prebuilt binary fits all but the Python minor found now, it tries a source build for
// that Python only if one can succeed, and keeps the prebuilt binary if not (never failing the
// install: the interpreter is chosen again when the program starts).
// PY_OUTLIERS_BUILD_FROM_SOURCE=1 (or `--build-from-source`, which npm 11 passes on as
// npm_config_build_from_source with a warning that it will stop) always builds.
//
// Why not `node-gyp rebuild` alone: when binding.gyp's helper fails inside gyp, the reason is
// buried in ~30 lines of gyp's own traceback, and a compiler error ends with node-gyp's stack.
// A user sees the end of the output, so that is where the fix must be named: the check runs
// first and, if the build fails anyway, the last lines say what it was built against.
//
// A prebuilt binary needs no install script at all (src/prebuilt.ts finds it when the program
// starts), so it also works where npm skips dependencies' install scripts.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { configure, BuildError } = require('./python_config.js');

function banner(lines) {
  const rule = '-'.repeat(78);
  process.stderr.write(`\n${rule}\n${lines.map((l) => `py-outliers: ${l}`).join('\n')}\n${rule}\n`);
}

function say(line) {
  process.stderr.write(`py-outliers: ${line}\n`);
}

const forceSource =
  process.argv.includes('--build-from-source') ||
  process.env.npm_config_build_from_source === 'true' ||
  process.env.PY_OUTLIERS_BUILD_FROM_SOURCE === '1';

// How the package's prebuilt binaries fit this machine: 'serves' (one will load, for the
// Python found now, or with no Python found now, as in a Docker build stage without Python),
// 'another-python' (one fits this Node, libc and system, but the Python found now is another
// minor), or 'none'. `binaryPython` and `found` say which Python each is, for messages.
let binaryPython = '';
let found;
function prebuiltFit() {
  const root = path.resolve(__dirname, '..');
  if (!fs.existsSync(path.join(root, 'prebuilds'))) return 'none';
  const { prebuiltBinaries, prebuildsDir, unmetRequirement } = require('../dist/prebuilt.js');
  const { chosenPythonVersion } = require('../dist/interpreter.js');
  const binaries = prebuiltBinaries();
  const minors = [...binaries.keys()];
  if (minors.length === 0) {
    say(
      `no prebuilt binary for Node ${process.version} (ABI ${process.versions.modules}) on ` +
        `${process.platform}-${process.arch}; building from source`,
    );
    return 'none';
  }
  const unmet = unmetRequirement(prebuildsDir());
  if (unmet !== undefined) {
    say(`the prebuilt binaries need ${unmet}; building from source`);
    return 'none';
  }
  binaryPython = minors.join(', ');
  found = chosenPythonVersion();
  if (found.version !== undefined && !binaries.has(found.version)) return 'another-python';
  const python =
    found.version === undefined
      ? `no Python interpreter found now ('${found.file}'); one is needed when the program starts`
      : `Python ${found.version} ('${found.file}', chosen by ${found.chosenBy})`;
  say(
    `using the prebuilt binary for Node ABI ${process.versions.modules} and Python ` +
      `${binaryPython}; nothing to compile. ${python}. The interpreter is chosen again when ` +
      'the program starts ($PY_OUTLIERS_PYTHON, $VIRTUAL_ENV, python3 on PATH).',
  );
  return 'serves';
}

// Whether a C++ compiler and make can be run: without them a source build cannot succeed.
function canCompile() {
  const runs = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
  return runs(process.env.CXX || 'c++') && runs('make');
}

// The install keeps the prebuilt binary where a build for the Python found now cannot be made:
// the interpreter is chosen again when the program starts, and npm must not roll the whole
// install back because of a Python the program may never use. Says what the program will meet.
function keepPrebuilt(why) {
  banner([
    `kept the prebuilt binary, for Python ${binaryPython}: a build for Python ${found.version} ` +
      `('${found.file}', chosen by ${found.chosenBy}) cannot be made here:`,
    ...why,
    `When your program starts, name a Python ${binaryPython} with numpy: set ` +
      `PY_OUTLIERS_PYTHON=/path/to/python${binaryPython}, or activate a venv of it.`,
    `Else it stops with a PythonStartError: "its prebuilt binaries are for Python ` +
      `${binaryPython}, but the interpreter ... is Python ${found.version}".`,
    `To use Python ${found.version} instead, install what is missing above, then: ` +
      'PY_OUTLIERS_BUILD_FROM_SOURCE=1 npm rebuild py-outliers',
  ]);
  process.exit(0);
}

const fit = forceSource ? 'none' : prebuiltFit();
if (fit === 'serves') process.exit(0);
if (fit === 'another-python') {
  say(
    `the prebuilt binaries are for Python ${binaryPython}, and '${found.file}' (chosen by ` +
      `${found.chosenBy}) is Python ${found.version}; building from source for it`,
  );
  if (!canCompile())
    keepPrebuilt(['no C++ compiler or make (Debian/Ubuntu: apt-get install g++ make).']);
}

// A source build replaces any earlier one; it then wins over the prebuilt binaries.
let info;
try {
  info = configure();
} catch (err) {
  if (!(err instanceof BuildError)) throw err;
  if (fit === 'another-python') keepPrebuilt(err.message.split('\n'));
  banner(['cannot build the native addon.', ...err.message.split('\n')]);
  process.exit(1);
}

// npm puts its own node-gyp on PATH for scripts (and a local devDependency before it).
const gyp = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit' });
if (gyp.status !== 0) {
  const failed =
    `the native build failed (see above), building against Python ${info.version} ` +
    `('${info.executable}') and numpy ${info.numpy_version} (${info.numpy_include}).`;
  if (fit === 'another-python') {
    // Nothing half-built may stay: a source build wins over the prebuilt binary at load time.
    fs.rmSync(path.resolve(__dirname, '..', 'build'), { recursive: true, force: true });
    keepPrebuilt([failed]);
  }
  banner([
    failed,
    'It needs a C++ compiler and make (Debian/Ubuntu: apt-get install g++ make).',
    'To build against another interpreter: ' +
      'PY_OUTLIERS_BUILD_FROM_SOURCE=1 PY_OUTLIERS_PYTHON=/path/to/python npm rebuild py-outliers',
  ]);
  process.exit(gyp.status ?? 1);
}

// The interpreter this build is for, beside it: what runs when nothing names another
// (src/interpreter.ts, interpreterToRun), known without loading the addon (the gRPC server
// starts it without loading libpython).
fs.writeFileSync(
  path.resolve(__dirname, '..', 'build', 'Release', 'py_outliers.python.json'),
  `${JSON.stringify({ executable: info.executable, version: info.version })}\n`,
);
