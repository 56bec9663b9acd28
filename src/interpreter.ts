/**
 * Which Python: the one module that chooses the interpreter (`PY_OUTLIERS_PYTHON`, the active
 * venv, `python3` on `PATH` or a source build's own) and asks it what it is (one probe), for the
 * prebuilt loader, the native start, the install script and the gRPC server
 * (docs/python-environment.md). It loads nothing into the process. @internal
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { PythonStartError } from './errors.js';
import { interpreterSettings } from './settings.js';

/** The package's root (dist/ is one level down). */
const ROOT = path.resolve(__dirname, '..');

/** An interpreter and what chose it, for messages: `$PY_OUTLIERS_PYTHON`, `$VIRTUAL_ENV`... */
export interface Chosen {
  readonly file: string;
  readonly chosenBy: string;
}

/**
 * The interpreter to run, in this order: `$PY_OUTLIERS_PYTHON`, the active venv's
 * (`$VIRTUAL_ENV/bin/python`), `python3` on `PATH`.
 */
export function chooseInterpreter(): Chosen {
  const { python, virtualEnv } = interpreterSettings();
  if (python !== undefined) return { file: python, chosenBy: '$PY_OUTLIERS_PYTHON' };
  if (virtualEnv !== undefined) {
    return { file: path.join(virtualEnv, 'bin', 'python'), chosenBy: '$VIRTUAL_ENV' };
  }
  return { file: 'python3', chosenBy: 'PATH' };
}

/**
 * The interpreter the embedded Python behaves as, and the gRPC server runs, chosen without
 * loading anything: a prebuilt binary's choice (above); for a source build the same order, but
 * with neither setting, the interpreter it was built against (recorded beside it by
 * scripts/install.js), not `python3` on `PATH`: a source build is for its build's Python, and an
 * interpreter of another version is an error at start that says so.
 */
export function interpreterToRun(): Chosen {
  const chosen = chooseInterpreter();
  if (chosen.chosenBy !== 'PATH') return chosen;
  const built = sourceBuildPython();
  return built === undefined ? chosen : { file: built, chosenBy: 'the source build' };
}

/** The source build's record of its interpreter (scripts/install.js writes it). */
export const SOURCE_BUILD_RECORD = path.join(ROOT, 'build', 'Release', 'py_outliers.python.json');

/** The interpreter the addon was built from source against, if there is a source build. */
export function sourceBuildPython(): string | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(SOURCE_BUILD_RECORD, 'utf8')) as {
      executable?: unknown;
    };
    return typeof record.executable === 'string' ? record.executable : undefined;
  } catch {
    return undefined;
  }
}

// sysconfig's own answers, and sys.base_prefix (computed from where the interpreter is, not
// recorded at its build); -I: no user site, no PYTHON* variables, so nothing of the user's can
// run here. A venv answers with its base installation's LIBDIR and prefix.
const PROBE = `
import json, sys, sysconfig
v = sysconfig.get_config_var
print(json.dumps({"executable": sys.executable, "version": "%d.%d" % sys.version_info[:2],
    "libdir": v("LIBDIR") or "", "ldlibrary": v("LDLIBRARY") or "",
    "soname": v("INSTSONAME") or "", "shared": bool(v("Py_ENABLE_SHARED")),
    "basePrefix": sys.base_prefix}))
`;

/** What the probe reports of an interpreter. */
export interface Probed {
  executable: string;
  version: string;
  /** sysconfig's LIBDIR: where the build installed libpython (a relocated build's is stale). */
  libdir: string;
  ldlibrary: string;
  soname: string;
  shared: boolean;
  /** `sys.base_prefix`: the installation the interpreter (or its venv) really runs from. */
  basePrefix: string;
}

/** Runs `file` once to learn what it is; a PythonStartError that names the fix if it cannot. */
export function probe(file: string, chosenBy: string): Probed {
  try {
    const out = execFileSync(file, ['-I', '-c', PROBE], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out) as Probed;
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? String(error).split('\n')[0];
    if (file.includes('/') && !fs.existsSync(file)) {
      throw new PythonStartError(
        `py-outliers: the Python interpreter '${file}' (chosen by ${chosenBy}) does not exist. ` +
          "Set PY_OUTLIERS_PYTHON to the path of an interpreter that has numpy (a venv's " +
          'bin/python), or unset it to use the active venv or python3 on PATH.',
      );
    }
    throw new PythonStartError(
      `py-outliers: cannot run the Python interpreter '${file}' (chosen by ${chosenBy}; ${why}). ` +
        'Install CPython with numpy, then name it with PY_OUTLIERS_PYTHON=/path/to/python, or ' +
        'activate a venv that has numpy.',
    );
  }
}

/** The Python major.minor of the interpreter chosen now, or undefined if it cannot run. */
export function chosenPythonVersion(): { version?: string; file: string; chosenBy: string } {
  const chosen = chooseInterpreter();
  try {
    return { ...chosen, version: probe(chosen.file, chosen.chosenBy).version };
  } catch {
    return chosen;
  }
}
