/** Outliers: a Python detection function called with `Float64Array`s, giving indices. */
import { CallableCore } from './callable.js';
import { checkSignal, type CallOptions } from './cancellation.js';
import { placeFor, withRelease, type PlacedDetector } from './place.js';
import type { ProcessPool } from './pool.js';
import type { Remote } from './remote-call.js';
import type { RemoteTlsOptions } from './remote.js';
import { checkValues } from './values.js';

/**
 * What `Outliers` and `RemoteOutliers` both are, for async use: a service can take either, and
 * move from one process to many machines without changing its calls.
 *
 * ```ts
 * function handler(detector: AsyncDetector) {
 *   return (values: Float64Array) => detector.detectAsync(values, { signal: AbortSignal.timeout(100) });
 * }
 * handler(new Outliers());
 * handler(new RemoteOutliers(['10.0.0.1:50051', '10.0.0.2:50051']));
 * ```
 */
export interface AsyncDetector extends Disposable {
  /** The indices of `values`' outliers, off the event loop; `signal` aborts the call. */
  detectAsync(values: Float64Array, options?: CallOptions): Promise<Int32Array>;
  /** Releases the detector. Idempotent; calls after it throw (or reject with) `ClosedError`. */
  close(): void;
}

/** Sync results of up to this many indices avoid a native allocation (see native/objects/outliers.h). */
const SCRATCH_INDICES = 1024;

/** Options of {@link Outliers}. */
export interface OutliersOptions {
  /**
   * Directories prepended to Python's `sys.path` (in this order) before the module is
   * imported. Relative paths are resolved against the current directory.
   */
  readonly paths?: readonly string[];
  /**
   * Runs the detector's calls in this pool's worker processes. Only
   * {@link Outliers.detectAsync} can then be used.
   */
  readonly pool?: ProcessPool;
  /**
   * Runs the calls on py-outliers servers (`python/grpc_server.py`, docs/scaling-out.md): a
   * {@link Remote}, or its address (a gRPC target, or a list of `ip:port`) for connections of
   * this object's own. Only the async method can then be used, and only functions the server
   * exports (`--export module:function`).
   */
  readonly remote?: Remote | string | readonly string[];
  /** With `remote` as an address: TLS to the servers, as {@link Remote} takes it. */
  readonly tls?: RemoteTlsOptions;
  /** With `remote` as an address: the servers' token, as {@link Remote} takes it. */
  readonly token?: string;
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
  readonly #core: CallableCore<PlacedDetector>;
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
    const placed = placeFor(options);
    this.#core = new CallableCore(
      'Outliers detector',
      moduleName,
      funcName,
      options.paths,
      placed.place,
      (place, module, func, paths) =>
        withRelease(place.openDetector(module, func, paths, this.#scratch), placed.release),
    );
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
    const result = this.#core.open().detect(checkValues(values));
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
    const input = checkValues(values);
    const signal = checkSignal(options);
    const native = this.#core.open();
    return this.#core.runAsync(
      signal,
      () => native.detectAsync(input),
      () => native.detectAsync(input, true),
    );
  }

  /**
   * Releases the Python function. Idempotent. Calls after it throw {@link ClosedError};
   * async calls still queued reject with it, and a call already running finishes.
   */
  close(): void {
    this.#core.close();
  }

  /** {@link Outliers.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
