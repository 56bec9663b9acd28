/** The embedded interpreter: its one start per process, and what it reports. */
import path from 'node:path';

import { ClosedError, PythonError, PythonStartError, ResultError } from './errors.js';
import { loadAddon, pythonExecutable, type NativeAddon } from './native.js';
import { MAX_PYTHON_THREADS, startSettings } from './settings.js';

/** The package's own python/ folder: always importable (it holds `outliers.py`). */
const PYTHON_DIR = path.resolve(__dirname, '..', 'python');

let startedAddon: NativeAddon | undefined;
/** setPythonThreads()'s value, if it was called in this thread. */
let requestedThreads: number | undefined;

/** The addon, with Python started (once per process) and this thread attached to it. */
export function addon(): NativeAddon {
  if (startedAddon === undefined) {
    const loaded = loadAddon();
    loaded.start(
      PYTHON_DIR,
      { PythonError, ResultError, ClosedError, PythonStartError },
      startSettings(process.env, requestedThreads),
      requestedThreads !== undefined,
      pythonExecutable(),
    );
    startedAddon = loaded;
  }
  return startedAddon;
}

/**
 * Sets how many Python threads run {@link Outliers.detectAsync} calls in this process, in
 * place of `PY_OUTLIERS_THREADS` or the default, 1. More threads overlap numpy's loops on
 * large inputs (100k values and up), and cost throughput on small ones; more than
 * {@link RuntimeInfo.usableCpus} never help (see docs/threads.md).
 * Python reads it when it starts, so call this before the first `Outliers` or
 * {@link runtimeInfo} in the process (any thread). With 1, async calls run strictly one at a
 * time: choose it if the Python function is not safe to run on two threads at once.
 *
 * @throws RangeError if `count` is not a whole number from 1 to 64.
 * @throws Error if Python already runs with another count in this process.
 */
export function setPythonThreads(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PYTHON_THREADS) {
    throw new RangeError(
      `the Python thread count must be a whole number from 1 to ${MAX_PYTHON_THREADS}`,
    );
  }
  if (startedAddon !== undefined) {
    const running = Number(startedAddon.runtimeInfo().pythonThreads);
    if (running !== count) {
      throw new Error(
        `py-outliers: Python already runs with ${running} threads in this process; ` +
          `setPythonThreads(${count}) came too late`,
      );
    }
  }
  requestedThreads = count;
}

/** What {@link runtimeInfo} reports about the embedded interpreter. */
export interface RuntimeInfo {
  /** e.g. `'3.11.7'`. */
  readonly pythonVersion: string;
  /** `sys.executable`: the interpreter (or venv python) the embedded Python behaves as. */
  readonly executable: string;
  /** `sys.prefix`: the venv's folder when running in a venv. */
  readonly prefix: string;
  /** `sys.base_prefix`: the installation the venv was made from. */
  readonly basePrefix: string;
  /** `numpy.__version__`. */
  readonly numpyVersion: string;
  /** Where numpy was imported from. */
  readonly numpyPath: string;
  /** The libpython shared library loaded into this process. */
  readonly libpython: string;
  /** The interpreter the addon was built against (see {@link buildInfo}). */
  readonly buildExecutable: string;
  /** The Python major.minor the addon was compiled against. */
  readonly buildPythonVersion: string;
  /** The numpy version whose headers the addon was compiled against. */
  readonly buildNumpyVersion: string;
  /** Whether glibc's malloc thresholds were raised for numpy (see the README). */
  readonly mallocTuning: boolean;
  /** How many Python threads run async calls (see {@link setPythonThreads}). */
  readonly pythonThreads: number;
  /**
   * The CPUs this process could use when Python started: the smaller of its affinity mask and
   * its cgroup CPU quota, rounded up (a 0.5-CPU container counts 1): the most Python threads
   * that can help.
   */
  readonly usableCpus: number;
  /**
   * The low-latency mode's window in µs (`PY_OUTLIERS_LOW_LATENCY_US`), 0 when it is off (the
   * default, and where the process may run on one CPU only): how long an idle Python thread,
   * and the event loop after each async call, poll instead of sleeping.
   */
  readonly lowLatencyUs: number;
}

/** What {@link buildInfo} reports: the Python environment the addon was built against. */
export interface BuildInfo {
  /**
   * The interpreter chosen at build time (a venv's `bin/python`, or `python3`'s real path);
   * `''` for a prebuilt binary, whose interpreter is chosen when the program starts.
   */
  readonly executable: string;
  /** Its major.minor, e.g. `'3.11'`. */
  readonly pythonVersion: string;
  /** The numpy version whose C headers the addon was compiled against. */
  readonly numpyVersion: string;
  /**
   * Whether the addon is a binary that came prebuilt in the package (docs/install.md),
   * rather than one built from source on this machine.
   */
  readonly prebuilt: boolean;
}

/**
 * Describes the Python environment the addon was built against. Unlike {@link runtimeInfo}
 * it does not start Python (a prebuilt binary does load the chosen interpreter's libpython).
 * At run time the interpreter is chosen when the program starts: `PY_OUTLIERS_PYTHON`, then
 * `$VIRTUAL_ENV`, then `python3` on `PATH` for a prebuilt binary, or this `executable` for a
 * source build.
 *
 * @throws PythonStartError if the addon cannot be loaded (for a prebuilt binary: no interpreter
 * of its Python minor, or no shared libpython).
 */
export function buildInfo(): BuildInfo {
  return loadAddon().buildInfo;
}

/**
 * Describes the embedded interpreter: which Python, which venv, which numpy. Starts Python
 * if it is not running yet.
 */
export function runtimeInfo(): RuntimeInfo {
  return addon().runtimeInfo();
}
