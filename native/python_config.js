#!/usr/bin/env node
// Build-time helper for binding.gyp: chooses the Python interpreter the addon is built
// against and prints the compiler/linker settings taken from that very interpreter.
//
// Why a script: the addon must be compiled, linked and later run against one and the same
// interpreter (NOTES.md item 3), so every path comes from asking it, never from hard-coded
// versions. Choice, first match wins:
//   1. $PY_OUTLIERS_PYTHON (not $PYTHON: node-gyp reads that one for gyp itself)
//   2. <package>/.venv/bin/python, when it exists (what `make` creates)
//   3. python3 on PATH
//
// Usage: node native/python_config.js <include-dirs|libraries|ldflags|defines|json>
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PROBE = `
import json, sys, sysconfig
try:
    import numpy
    numpy_include = numpy.get_include()
except ImportError:
    numpy_include = None
cfg = sysconfig.get_config_vars()
print(json.dumps({
    "executable": sys.executable,
    "version": "%d.%d" % sys.version_info[:2],
    "hexversion": sys.hexversion,
    "include": sysconfig.get_paths()["include"],
    "libdir": cfg.get("LIBDIR"),
    "ldlibrary": cfg.get("LDLIBRARY"),
    "shared": bool(cfg.get("Py_ENABLE_SHARED")),
    "abiflags": getattr(sys, "abiflags", ""),
    "numpy_include": numpy_include,
}))
`;

function chooseInterpreter() {
  const fromEnv = process.env.PY_OUTLIERS_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = path.resolve(__dirname, '..', '.venv', 'bin', 'python');
  if (fs.existsSync(venv)) return venv;
  return 'python3';
}

function fail(message) {
  process.stderr.write(`py-outliers build: ${message}\n`);
  process.exit(1);
}

function probe() {
  const interpreter = chooseInterpreter();
  let out;
  try {
    out = execFileSync(interpreter, ['-c', PROBE], { encoding: 'utf8' });
  } catch (err) {
    fail(`cannot run the Python interpreter '${interpreter}': ${err.message}`);
  }
  const info = JSON.parse(out);
  if (!info.shared) {
    fail(
      `'${info.executable}' was built without a shared libpython (--enable-shared); ` +
        'embedding needs libpython as a shared library.',
    );
  }
  if (!info.numpy_include) {
    fail(`numpy is not installed for '${info.executable}'. Install it, or run 'make build'.`);
  }
  return info;
}

function shellQuote(word) {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function main() {
  const what = process.argv[2];
  const info = probe();
  // libpython3.11.so -> link name python3.11 (abiflags included where the build has them).
  const libName = info.ldlibrary.replace(/^lib/, '').replace(/\.so.*$/, '');
  switch (what) {
    case 'include-dirs':
      console.log([info.include, info.numpy_include].join(' '));
      break;
    case 'libraries':
      console.log(`-L${info.libdir} -l${libName}`);
      break;
    case 'ldflags':
      // rpath: the addon finds the same libpython at run time without LD_LIBRARY_PATH.
      console.log(`-Wl,-rpath,${info.libdir}`);
      break;
    case 'defines':
      // gyp splits this output like a shell would, so each define is shell-quoted to keep
      // the C string literal's double quotes.
      console.log(
        [
          `PY_OUTLIERS_EXECUTABLE=${JSON.stringify(info.executable)}`,
          `PY_OUTLIERS_BUILD_VERSION=${JSON.stringify(info.version)}`,
        ]
          .map(shellQuote)
          .join(' '),
      );
      break;
    case 'json':
      console.log(JSON.stringify(info, null, 2));
      break;
    default:
      fail(`unknown query '${what}'`);
  }
}

main();
