/**
 * py-outliers: call a numpy function in-process from Node.js.
 *
 * A `Float64Array` reaches Python as a read-only numpy view of its own memory (no copy); the
 * indices that come back are copied into a new `Int32Array`.
 *
 * @packageDocumentation
 */
import path from 'node:path';

import { AbortError, ClosedError, PythonError, ResultError } from './errors.js';
import { loadAddon, type NativeAddon, type NativeOutliers } from './native.js';
import { checkSignal, onAbort, type CallOptions } from './signal.js';
import { checkValues, withCallSite } from './values.js';

export { AbortError, ClosedError, PythonError, RemoteError, ResultError } from './errors.js';
export type { CallOptions } from './signal.js';
export { RemoteOutliers, type RemoteOutliersOptions, type RemoteTlsOptions } from './remote.js';
export { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './server.js';

/** The package's own python/ folder: always importable (it holds `outliers.py`). */
const PYTHON_DIR = path.resolve(__dirname, '..', 'python');

let startedAddon: NativeAddon | undefined;
/** setPythonThreads()'s value; 0: the process's setting ($PY_OUTLIERS_THREADS or the default). */
let requestedThreads = 0;

/** The addon, with Python started (once per process) and this thread attached to it. */
function addon(): NativeAddon {
  if (startedAddon === undefined) {
    const loaded = loadAddon();
    loaded.start(PYTHON_DIR, { PythonError, ResultError, ClosedError }, requestedThreads);
    startedAddon = loaded;
  }
  return startedAddon;
}

/** The most Python threads a process may have (native/python_runtime.h). */
const MAX_PYTHON_THREADS = 64;

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

/** Sync results of up to this many indices avoid a native allocation (see native/outliers.h). */
const SCRATCH_INDICES = 1024;

/** Options of {@link Outliers}. */
export interface OutliersOptions {
  /**
   * Directories prepended to Python's `sys.path` (in this order) before the module is
   * imported. Relative paths are resolved against the current directory.
   */
  readonly paths?: readonly string[];
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
   * The low-latency mode's window in µs (`PY_OUTLIERS_SPIN_US`), 0 when it is off (the
   * default, and where the process may run on one CPU only): how long an idle Python thread,
   * and the event loop after each async call, poll instead of sleeping.
   */
  readonly spinUs: number;
}

/** What {@link buildInfo} reports: the Python environment the addon was built against. */
export interface BuildInfo {
  /** The interpreter chosen at build time (a venv's `bin/python`, or `python3`'s real path). */
  readonly executable: string;
  /** Its major.minor, e.g. `'3.11'`. */
  readonly pythonVersion: string;
  /** The numpy version whose C headers the addon was compiled against. */
  readonly numpyVersion: string;
}

/**
 * Describes the Python environment the addon was built against. Unlike {@link runtimeInfo}
 * it does not start Python. At run time the embedded interpreter behaves as
 * `executable`, unless `PY_OUTLIERS_PYTHON` names another one.
 */
export function buildInfo(): BuildInfo {
  return loadAddon().buildInfo;
}

/**
 * Describes the embedded interpreter: which Python, which venv, which numpy. Starts Python
 * if it is not running yet.
 */
export function runtimeInfo(): RuntimeInfo {
  return addon().runtimeInfo() as unknown as RuntimeInfo;
}

/**
 * A Python detection function, imported once, called with `Float64Array`s.
 *
 * ```ts
 * const o = new Outliers();                 // python/outliers.py : detect
 * const idx = o.detect(new Float64Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 50]));  // Int32Array [9]
 * o.close();
 * ```
 *
 * The function receives a read-only, 1-D float64 numpy array that is a view of the caller's
 * memory, and must return a 1-D integer array or sequence of indices into it.
 */
export class Outliers {
  #native: NativeOutliers | undefined;
  /** Where the native layer writes sync results that fit; copied out with slice(). */
  readonly #scratch = new Int32Array(SCRATCH_INDICES);

  /**
   * Imports `moduleName` and looks up `funcName` in it (once). The first `Outliers` in a
   * process starts Python.
   *
   * @param moduleName - a module importable from `sys.path`, `options.paths`, or the package's
   *   own `python/` folder. Default `'outliers'`.
   * @param funcName - the function's name in that module. Default `'detect'`.
   * @throws {@link PythonError} if the import fails (`ModuleNotFoundError`, or any exception the
   *   module raises) or the function is missing (`AttributeError`).
   * @throws TypeError if the attribute is not callable, or an argument has the wrong type.
   */
  constructor(moduleName = 'outliers', funcName = 'detect', options: OutliersOptions = {}) {
    if (typeof moduleName !== 'string' || moduleName === '') {
      throw new TypeError('moduleName must be a non-empty string');
    }
    if (typeof funcName !== 'string' || funcName === '') {
      throw new TypeError('funcName must be a non-empty string');
    }
    const paths = options.paths ?? [];
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) {
      throw new TypeError('options.paths must be an array of strings');
    }
    const { Outliers: NativeOutliersClass } = addon();
    this.#native = new NativeOutliersClass(
      moduleName,
      funcName,
      paths.map((p) => path.resolve(p)),
      this.#scratch,
    );
  }

  #open(): NativeOutliers {
    if (this.#native === undefined) throw new ClosedError();
    return this.#native;
  }

  /**
   * Runs the function on `values` and returns its indices. Blocks the calling thread for the
   * duration of the Python call; see {@link Outliers.detectAsync} for a non-blocking call.
   *
   * @param values - passed to Python without a copy (a read-only view). An empty array returns
   *   an empty result without calling Python.
   * @returns a new `Int32Array` with the indices, in the order Python returned them.
   * @throws TypeError if `values` is not a Float64Array or its buffer is detached.
   * @throws {@link PythonError} if the function raises.
   * @throws {@link ResultError} if the function's result is not a valid list of indices.
   * @throws {@link ClosedError} after {@link Outliers.close}.
   */
  detect(values: Float64Array): Int32Array {
    const result = this.#open().detect(checkValues(values));
    return typeof result === 'number' ? this.#scratch.slice(0, result) : result;
  }

  /**
   * Like {@link Outliers.detect}, but the Python call runs on one of py-outliers' Python
   * threads (see {@link setPythonThreads}) and the event loop stays free. Errors are rejections
   * with the same classes, whose stack includes this call site.
   *
   * `values` is still not copied: do not write to it until the promise settles (Python would
   * read a mix of old and new values). Detaching or transferring its buffer meanwhile is
   * safe: the memory stays alive until Python is done with it.
   *
   * With `options.signal`, aborting rejects the promise at once with an {@link AbortError}. A
   * call still queued never runs; a running call is interrupted where Python can be (while it
   * runs Python bytecode, a `CallAborted` exception is raised in it); inside a C function (a
   * numpy loop, `time.sleep`) it runs to its end, and its result is discarded.
   *
   * @throws TypeError if `values` is not a Float64Array or `options.signal` not an AbortSignal.
   * @throws {@link AbortError} if the signal is aborted, already or during the call.
   */
  async detectAsync(values: Float64Array, options?: CallOptions): Promise<Int32Array> {
    try {
      const input = checkValues(values);
      const signal = checkSignal(options);
      const native = this.#open();
      if (signal === undefined) return await native.detectAsync(input);
      if (signal.aborted) throw new AbortError(signal.reason);
      const [promise, id] = native.detectAsync(input, true);
      const listener = onAbort(signal, (error) => addon().cancel(id, error));
      try {
        return await promise;
      } finally {
        listener[Symbol.dispose]();
      }
    } catch (error) {
      throw withCallSite(error);
    }
  }

  /**
   * Releases the Python function. Idempotent. Calls after it throw {@link ClosedError};
   * async calls still queued reject with it, and a call already running finishes.
   */
  close(): void {
    this.#native?.close();
    this.#native = undefined;
  }
}
