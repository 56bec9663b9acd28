#!/usr/bin/env node
// Build-time helper for binding.gyp and scripts/install.js: chooses the Python interpreter the
// addon is built against, checks that it can be built against, and prints the compiler and
// linker settings taken from that very interpreter.
//
// Why a script: the addon must be compiled, linked and later run against one and the same
// interpreter (docs/architecture.md, "Which Python"), so every path comes from asking it,
// never from hard-coded versions. Choice, first match wins:
//   1. $PY_OUTLIERS_PYTHON (not $PYTHON: node-gyp reads that one for gyp itself)
//   2. the active venv's python ($VIRTUAL_ENV/bin/python)
//   3. <package>/.venv/bin/python, when it exists (what `make` creates)
//   4. python3 on PATH
// A prebuilt binary (scripts/prebuild.js sets PY_OUTLIERS_PREBUILD=1) records no interpreter and
// no library path: the interpreter is chosen when the program starts (src/prebuilt.ts).
//
// Usage: node scripts/python_config.js <check|include-dirs|libraries|ldflags|defines|json>
// `check` prints nothing and exits 0 when the build can go ahead, else says what to install.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PROBE = `
import json, sys, sysconfig
try:
    import numpy
    numpy_include = numpy.get_include()
    numpy_version = numpy.__version__
except ImportError:
    numpy_include = numpy_version = None
cfg = sysconfig.get_config_vars()
print(json.dumps({
    "executable": sys.executable,
    "version": "%d.%d" % sys.version_info[:2],
    "include": sysconfig.get_paths()["include"],
    "libdir": cfg.get("LIBDIR"),
    "ldlibrary": cfg.get("LDLIBRARY"),
    "shared": bool(cfg.get("Py_ENABLE_SHARED")),
    "numpy_include": numpy_include,
    "numpy_version": numpy_version,
}))
`;

class BuildError extends Error {}

function chooseInterpreter() {
  const fromEnv = process.env.PY_OUTLIERS_PYTHON;
  if (fromEnv) return fromEnv;
  if (process.env.VIRTUAL_ENV) return path.join(process.env.VIRTUAL_ENV, 'bin', 'python');
  const venv = path.resolve(__dirname, '..', '.venv', 'bin', 'python');
  if (fs.existsSync(venv)) return venv;
  return 'python3';
}

const CHOOSE_ANOTHER =
  "Or build against another interpreter (a venv's bin/python works): " +
  'PY_OUTLIERS_PYTHON=/path/to/python npm rebuild py-outliers';

function probe(interpreter) {
  let out;
  try {
    out = execFileSync(interpreter, ['-c', PROBE], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new BuildError(
      `cannot run the Python interpreter '${interpreter}' (${err.code ?? err.message.split('\n')[0]}).\n` +
        'Install CPython 3.9 or later with numpy, or name one with PY_OUTLIERS_PYTHON=/path/to/python.',
    );
  }
  return JSON.parse(out);
}

// The two numbers numpy's headers identify themselves by (numpy/_numpyconfig.h).
function numpyHeaderVersions(numpyInclude) {
  const file = path.join(numpyInclude, 'numpy', '_numpyconfig.h');
  const text = fs.readFileSync(file, 'utf8');
  const read = (name) => {
    const match = new RegExp(`#define\\s+${name}\\s+(0x[0-9a-fA-F]+)`).exec(text);
    if (!match) throw new BuildError(`cannot read ${name} from ${file}`);
    return match[1];
  };
  return { abi: read('NPY_ABI_VERSION'), api: read('NPY_API_VERSION') };
}

// Everything the build needs from the interpreter, each missing piece named with its fix.
function check(info) {
  const exe = info.executable;
  const py = `Python ${info.version}`;
  if (!fs.existsSync(path.join(info.include, 'Python.h'))) {
    throw new BuildError(
      `${py}'s C headers are missing: no Python.h in ${info.include} (interpreter '${exe}').\n` +
        `Install them: Debian/Ubuntu: apt-get install python${info.version}-dev (or python3-dev); ` +
        `Fedora/RHEL: dnf install python${info.version}-devel (or python3-devel).\n${CHOOSE_ANOTHER}`,
    );
  }
  const libpython = path.join(info.libdir ?? '', info.ldlibrary ?? '');
  if (!info.shared || !/\.so/.test(info.ldlibrary ?? '') || !fs.existsSync(libpython)) {
    throw new BuildError(
      `${py} has no shared libpython (${info.shared ? `${libpython} is missing` : `'${exe}' was built without --enable-shared`}); ` +
        'embedding CPython needs it.\n' +
        `Debian/Ubuntu: apt-get install libpython${info.version}-dev; Fedora/RHEL: dnf install python${info.version}-devel; ` +
        `pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install ${info.version}.\n${CHOOSE_ANOTHER}`,
    );
  }
  if (!info.numpy_include) {
    throw new BuildError(
      `numpy is not installed for the Python interpreter '${exe}' (${py}).\n` +
        `Install it: '${exe}' -m pip install numpy\n${CHOOSE_ANOTHER}`,
    );
  }
  return { ...info, numpy_headers: numpyHeaderVersions(info.numpy_include) };
}

function shellQuote(word) {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The build settings, or a BuildError that says what to install. */
function configure() {
  return check(probe(chooseInterpreter()));
}

const PREBUILD = process.env.PY_OUTLIERS_PREBUILD === '1';

function print(what, info) {
  // libpython3.11.so -> link name python3.11 (abiflags included where the build has them).
  const libName = info.ldlibrary.replace(/^lib/, '').replace(/\.so.*$/, '');
  switch (what) {
    case 'check':
      return;
    case 'include-dirs':
      // numpy's own headers first: Debian's python3-numpy puts a `numpy` link (its own,
      // older headers) inside Python's include dir, which would otherwise win
      // (docs/architecture.md, "numpy headers").
      console.log([info.numpy_include, info.include].join(' '));
      return;
    case 'libraries':
      console.log(`-L${info.libdir} -l${libName}`);
      return;
    case 'ldflags':
      // rpath: the addon finds the same libpython at run time without LD_LIBRARY_PATH. Not in
      // a prebuilt binary, whose libpython is loaded by src/prebuilt.ts before it.
      console.log(PREBUILD ? '' : `-Wl,-rpath,${info.libdir}`);
      return;
    case 'defines':
      // gyp splits this output like a shell would, so each define is shell-quoted to keep
      // the C string literals' double quotes. The numpy header versions are checked against
      // the headers the compiler really includes (native/values/numpy_api.cc).
      console.log(
        [
          `PY_OUTLIERS_EXECUTABLE=${JSON.stringify(PREBUILD ? '' : info.executable)}`,
          `PY_OUTLIERS_PREBUILT=${PREBUILD ? 1 : 0}`,
          `PY_OUTLIERS_BUILD_VERSION=${JSON.stringify(info.version)}`,
          `PY_OUTLIERS_BUILD_NUMPY=${JSON.stringify(info.numpy_version)}`,
          `PY_OUTLIERS_NUMPY_ABI_VERSION=${info.numpy_headers.abi}`,
          `PY_OUTLIERS_NUMPY_API_VERSION=${info.numpy_headers.api}`,
        ]
          .map(shellQuote)
          .join(' '),
      );
      return;
    case 'json':
      console.log(JSON.stringify(info, null, 2));
      return;
    default:
      throw new BuildError(`unknown query '${what}'`);
  }
}

if (require.main === module) {
  try {
    print(process.argv[2], configure());
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    process.stderr.write(`py-outliers build: ${err.message}\n`);
    process.exit(1);
  }
}

module.exports = { configure, BuildError };
