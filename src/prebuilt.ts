/**
 * Loading a prebuilt binary (docs/install.md; docs/architecture.md, "Loading libpython"): the package
 * ships `prebuilds/<platform>-<arch>/py_outliers.abi<NODE_MODULE_VERSION>.<libc>.cp<XY>.node`,
 * built per Node ABI and per Python minor, and none of them names a libpython path. So the
 * interpreter is chosen here, when the program starts, its libpython is loaded into the process
 * (native/loader/python_loader.c), and then the binary built for that Python minor.
 *
 * Why a loader of our own and not node-gyp-build: its tags cannot name the Python minor (it
 * ignores tags it does not know, so it would load a cp312 binary under Python 3.11), and it loads
 * the addon straight away, where libpython must be in the process first.
 * @internal
 */
import fs from 'node:fs';
import path from 'node:path';

import { familySync, versionSync } from 'detect-libc';

import { PythonStartError } from './errors.js';
import { chooseInterpreter, probe, type Probed } from './interpreter.js';

/** The package's root (dist/ is one level down). */
const ROOT = path.resolve(__dirname, '..');

/** What the chosen interpreter says about itself, and the libpython loaded for it. */
export interface PrebuiltInterpreter {
  /** `sys.executable`: what the embedded Python behaves as. */
  readonly executable: string;
  /** major.minor, e.g. `'3.11'`. */
  readonly version: string;
  /** The libpython file loaded into the process. */
  readonly libpython: string;
  /** How it was chosen, for messages: `$PY_OUTLIERS_PYTHON`, `$VIRTUAL_ENV` or `PATH`. */
  readonly chosenBy: string;
}

interface LoaderAddon {
  load(file: string, record: string): string;
  loaded(): string | undefined;
}

/**
 * How to build from source for this system. Not `--build-from-source`: npm 11 passes an unknown
 * flag on with a warning that it will stop doing so.
 */
export const FIX_SOURCE = 'PY_OUTLIERS_BUILD_FROM_SOURCE=1 npm rebuild py-outliers';

/** The prebuilds folder for this platform and CPU, if the package has one. */
export function prebuildsDir(): string | undefined {
  const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  return fs.existsSync(dir) ? dir : undefined;
}

/**
 * The libpython of `probed`: its installed soname (else its library name) in its LIBDIR
 * (pyenv, the official Docker images, Debian's libpython3.X package, which has no unversioned
 * .so without -dev), else in `<sys.base_prefix>/lib` (an installation moved since it was built,
 * as python-build-standalone's, which uv installs: their LIBDIR is the build machine's
 * `/install/lib`), else the dynamic linker's own search for that soname.
 */
export function libpythonOf(probed: Probed): string {
  const names = [probed.soname, probed.ldlibrary].filter((name) => /\.so/.test(name));
  const dirs = [probed.libdir, path.join(probed.basePrefix, 'lib')].filter(Boolean);
  const candidates = dirs.flatMap((dir) => names.map((name) => path.join(dir, name)));
  const found = candidates.find((file) => fs.existsSync(file));
  if (found !== undefined) return found;
  if (probed.shared && probed.soname) return probed.soname;
  throw new PythonStartError(
    `py-outliers: Python ${probed.version} ('${probed.executable}') has no shared libpython ` +
      `(none of ${candidates.join(', ') || 'its LIBDIR'}), which embedding it needs. ` +
      `Debian/Ubuntu: apt-get install libpython${probed.version}; pyenv: ` +
      `PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install ${probed.version}; or name another ` +
      'interpreter with PY_OUTLIERS_PYTHON.',
  );
}

/** `py_outliers.abi137.glibc.cp311.node` → its Python minor, `'3.11'`, for this Node and libc. */
function binariesForThisNode(dir: string, libc: string): Map<string, string> {
  const pattern = new RegExp(
    `^py_outliers\\.abi${process.versions.modules}\\.${libc}\\.cp(\\d)(\\d+)\\.node$`,
  );
  const found = new Map<string, string>();
  for (const name of fs.readdirSync(dir)) {
    const match = pattern.exec(name);
    if (match) found.set(`${match[1]}.${match[2]}`, path.join(dir, name));
  }
  return found;
}

/**
 * The prebuilt binaries for this Node, platform, CPU and libc, by Python minor (empty if
 * none). For the install script (scripts/install.js) as well.
 */
export function prebuiltBinaries(): Map<string, string> {
  const dir = prebuildsDir();
  return dir === undefined ? new Map() : binariesForThisNode(dir, familySync() ?? 'unknown');
}

/** Compares dotted versions number by number: negative, zero or positive, as a sort wants. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const difference = (x[i] ?? 0) - (y[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** What `make prebuilds` records beside the binaries (scripts/prebuild.js). */
interface Manifest {
  /** The newest `GLIBC_` symbol version the binaries need, e.g. `'2.34'`. */
  readonly glibc: string;
  /** The newest `GLIBCXX_` (libstdc++) symbol version they need, e.g. `'3.4.30'`. */
  readonly glibcxx: string;
}

/** The libstdc++ this process runs with (Node links it), or undefined if none is mapped. */
function loadedLibstdcxx(): string | undefined {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  return /\s(\/\S*\/libstdc\+\+\.so\S*)$/m.exec(maps)?.[1];
}

/**
 * Why this machine cannot load the prebuilt binaries in `dir`, or undefined if it can. They link
 * against the build machine's glibc and libstdc++, and need the newest symbol versions their
 * manifest names; an older system (Debian 11, RHEL 8 and 9) cannot load them, and the install
 * builds from source there instead. The libstdc++ checked is the one Node itself loaded, which is
 * the one the addon gets.
 */
export function unmetRequirement(dir: string): string | undefined {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) return undefined;
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  const glibc = versionSync();
  if (glibc !== null && compareVersions(glibc, manifest.glibc) < 0) {
    return `glibc ${manifest.glibc} or later, and this system has glibc ${glibc}`;
  }
  const libstdcxx = loadedLibstdcxx();
  // Version names are NUL-terminated strings in the library's dynamic string table.
  if (
    libstdcxx !== undefined &&
    !fs.readFileSync(libstdcxx).includes(`GLIBCXX_${manifest.glibcxx}\0`)
  ) {
    return `a libstdc++ with GLIBCXX_${manifest.glibcxx}, and this system's ${libstdcxx} is older`;
  }
  return undefined;
}

/**
 * `require` of one of the prebuilt native files; a failure to load it (a system older than the
 * binaries need, a damaged file) is a PythonStartError that says why and names the fix.
 */
function requireBinary(file: string): unknown {
  try {
    return require(file) as unknown;
  } catch (error) {
    const unmet = unmetRequirement(path.dirname(file));
    throw new PythonStartError(
      `py-outliers: cannot load the prebuilt binary ${file}` +
        `${unmet === undefined ? '' : `: it needs ${unmet}`} (${(error as Error).message}). ` +
        `Build it from source for this system: ${FIX_SOURCE}`,
      { cause: error },
    );
  }
}

/**
 * Loads the prebuilt addon for this Node, libc and the run-time Python, after that Python's
 * libpython; or returns undefined if the package has no binary for this Node and libc (the
 * caller then tries a source build). One interpreter per process: a Worker, or a second load,
 * gets the one the first load chose.
 */
export function loadPrebuilt(): { addon: unknown; interpreter: PrebuiltInterpreter } | undefined {
  const binaries = prebuiltBinaries();
  const first = binaries.values().next();
  if (first.done === true) return undefined;
  const loaderFile = path.join(path.dirname(first.value), `python_loader.${familySync()}.node`);
  const loader = requireBinary(loaderFile) as LoaderAddon;

  const earlier = loader.loaded();
  let interpreter: PrebuiltInterpreter;
  if (earlier !== undefined) {
    interpreter = JSON.parse(earlier) as PrebuiltInterpreter;
  } else {
    const { file, chosenBy } = chooseInterpreter();
    const probed = probe(file, chosenBy);
    if (!binaries.has(probed.version)) {
      const built = [...binaries.keys()].join(', ');
      throw new PythonStartError(
        `py-outliers: its prebuilt binaries are for Python ${built}, but the interpreter ` +
          `'${probed.executable}' (chosen by ${chosenBy}) is Python ${probed.version}. Install ` +
          `Python ${built} with numpy and set PY_OUTLIERS_PYTHON to it (or activate a venv of ` +
          `it), or build py-outliers for Python ${probed.version}: ${FIX_SOURCE}`,
      );
    }
    const libpython = libpythonOf(probed);
    const record: PrebuiltInterpreter = {
      executable: probed.executable || file,
      version: probed.version,
      libpython,
      chosenBy,
    };
    try {
      interpreter = JSON.parse(
        loader.load(libpython, JSON.stringify(record)),
      ) as PrebuiltInterpreter;
    } catch (error) {
      // A bare soname was the dynamic linker's to find: Debian's python3.X without its
      // libpython3.X package says it is a shared build, and has no library.
      const fix = libpython.includes('/')
        ? ''
        : ` Install it (Debian/Ubuntu: apt-get install libpython${probed.version}), or name ` +
          'another interpreter with PY_OUTLIERS_PYTHON.';
      throw new PythonStartError(
        `py-outliers: cannot load ${libpython} for Python ${probed.version} ` +
          `('${record.executable}'): ${(error as Error).message}.${fix}`,
      );
    }
  }
  const binary = binaries.get(interpreter.version);
  if (binary === undefined) {
    throw new PythonStartError(
      `py-outliers: this process runs Python ${interpreter.version} ('${interpreter.executable}'), ` +
        `for which the package has no prebuilt binary; ${FIX_SOURCE}`,
    );
  }
  return { addon: requireBinary(binary), interpreter };
}
