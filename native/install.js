#!/usr/bin/env node
// The package's install (and build:native) script: checks the Python it will build against,
// then runs `node-gyp rebuild`.
//
// Why not `node-gyp rebuild` alone: when binding.gyp's helper fails inside gyp, the reason is
// buried in ~30 lines of gyp's own traceback, and a compiler error ends with node-gyp's stack.
// A user sees the end of the output, so that is where the fix must be named: the check runs
// first and, if the build fails anyway, the last lines say what it was built against.
'use strict';

const { spawnSync } = require('node:child_process');

const { configure, BuildError } = require('./python_config.js');

function banner(lines) {
  const rule = '-'.repeat(78);
  process.stderr.write(`\n${rule}\n${lines.map((l) => `py-outliers: ${l}`).join('\n')}\n${rule}\n`);
}

let info;
try {
  info = configure();
} catch (err) {
  if (!(err instanceof BuildError)) throw err;
  banner(['cannot build the native addon.', ...err.message.split('\n')]);
  process.exit(1);
}

// npm puts its own node-gyp on PATH for scripts (and a local devDependency before it).
const gyp = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit' });
if (gyp.status !== 0) {
  banner([
    `the native build failed (see above), building against Python ${info.version} ` +
      `('${info.executable}') and numpy ${info.numpy_version} (${info.numpy_include}).`,
    'It needs a C++ compiler and make (Debian/Ubuntu: apt-get install g++ make).',
    'To build against another interpreter: PY_OUTLIERS_PYTHON=/path/to/python npm rebuild py-outliers',
  ]);
  process.exit(gyp.status ?? 1);
}
