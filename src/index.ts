/**
 * py-outliers: call a numpy function in-process from Node.js.
 *
 * A `Float64Array` reaches Python as a read-only numpy view of its own memory (no copy); the
 * indices that come back are copied into a new `Int32Array`.
 *
 * @packageDocumentation
 */
import path from 'node:path';

import { ClosedError } from './errors.js';
import { type NativeOutliers } from './native.js';
import { addon, runCancellable } from './runtime.js';
import { checkSignal, type AsyncDetector, type CallOptions } from './signal.js';
import { checkValues, withCallSite } from './values.js';

export {
  AbortError,
  ClosedError,
  PythonError,
  PythonStartError,
  RemoteError,
  ResultError,
  type PyOutliersErrorCode,
} from './errors.js';
export type { AsyncDetector, CallOptions } from './signal.js';
export { RemoteOutliers, type RemoteOutliersOptions, type RemoteTlsOptions } from './remote.js';
export { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './server.js';
export {
  buildInfo,
  runtimeInfo,
  setPythonThreads,
  type BuildInfo,
  type RuntimeInfo,
} from './runtime.js';
export {
  ndarray,
  PythonFunction,
  type Int64As,
  type NDArray,
  type PythonArgument,
  type PythonCallOptions,
  type PythonFunctionOptions,
  type PythonResult,
  type TypedArray,
} from './function.js';

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
export class Outliers implements AsyncDetector {
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
      return await runCancellable(
        signal,
        () => native.detectAsync(input),
        () => native.detectAsync(input, true),
      );
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

  /** {@link Outliers.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
