#!/usr/bin/env node
// The package's install (and build:native) script. With a prebuilt binary for this Node, CPU,
// libc and Python minor in the package (prebuilds/, made by `make prebuilds`), it compiles
// nothing; else it checks the Python it will build against, then runs `node-gyp rebuild`.
// `--build-from-source` (npm rebuild py-outliers --build-from-source sets
// npm_config_build_from_source) or PY_OUTLIERS_BUILD_FROM_SOURCE=1 always builds.
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

// Said again at the end of a failed source build, where a prebuilt binary would have served with
// another interpreter: the way out that needs no compiler.
let prebuiltHint;

// True if a prebuilt binary will serve: one for this Node and libc, that this system can load,
// and for the Python minor of the interpreter found now (if none is found now, as in a Docker
// build stage without Python, the one chosen when the program starts must match; src/prebuilt.ts
// says so if it does not).
function prebuiltServes() {
  const root = path.resolve(__dirname, '..');
  if (!fs.existsSync(path.join(root, 'prebuilds'))) return false;
  const {
    prebuiltBinaries,
    prebuildsDir,
    unmetRequirement,
    chosenPythonVersion,
  } = require('../dist/prebuilt.js');
  const binaries = prebuiltBinaries();
  const minors = [...binaries.keys()];
  if (minors.length === 0) {
    say(
      `no prebuilt binary for Node ${process.version} (ABI ${process.versions.modules}) on ` +
        `${process.platform}-${process.arch}; building from source`,
    );
    return false;
  }
  const unmet = unmetRequirement(prebuildsDir());
  if (unmet !== undefined) {
    say(`the prebuilt binaries need ${unmet}; building from source`);
    return false;
  }
  const python = chosenPythonVersion();
  if (python.version !== undefined && !binaries.has(python.version)) {
    say(
      `the prebuilt binaries are for Python ${minors.join(', ')}, and '${python.file}' ` +
        `(chosen by ${python.chosenBy}) is Python ${python.version}; building from source`,
    );
    prebuiltHint =
      `Or use the prebuilt binary, which needs no compiler: name a Python ${minors.join(', ')} ` +
      'interpreter with PY_OUTLIERS_PYTHON (or activate a venv of it), then npm rebuild py-outliers';
    return false;
  }
  const found =
    python.version === undefined
      ? `no Python interpreter found now ('${python.file}'); one is needed when the program starts`
      : `Python ${python.version} ('${python.file}', chosen by ${python.chosenBy})`;
  say(
    `using the prebuilt binary for Node ABI ${process.versions.modules} and Python ` +
      `${minors.join(', ')}; nothing to compile. ${found}.`,
  );
  return true;
}

function hint() {
  return prebuiltHint === undefined ? [] : [prebuiltHint];
}

if (!forceSource && prebuiltServes()) process.exit(0);

// A source build replaces any earlier one; it then wins over the prebuilt binaries.
let info;
try {
  info = configure();
} catch (err) {
  if (!(err instanceof BuildError)) throw err;
  banner(['cannot build the native addon.', ...err.message.split('\n'), ...hint()]);
  process.exit(1);
}

// npm puts its own node-gyp on PATH for scripts (and a local devDependency before it).
const gyp = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit' });
if (gyp.status !== 0) {
  banner([
    `the native build failed (see above), building against Python ${info.version} ` +
      `('${info.executable}') and numpy ${info.numpy_version} (${info.numpy_include}).`,
    'It needs a C++ compiler and make (Debian/Ubuntu: apt-get install g++ make).',
    'To build against another interpreter: PY_OUTLIERS_PYTHON=/path/to/python npm rebuild py-outliers --build-from-source',
    ...hint(),
  ]);
  process.exit(gyp.status ?? 1);
}
