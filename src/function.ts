/** PythonFunction: any Python callable, with any arguments, arrays passed without a copy. */
import { CallableCore } from './callable.js';
import { checkSignal, type CallOptions } from './cancellation.js';
import { placeFor, withRelease, type PlacedFunction } from './place.js';
import type { ProcessPool } from './pool.js';
import type { Remote } from './remote-call.js';
import type { RemoteTlsOptions } from './remote.js';
import { checkInt64, type Int64As, type PythonArgument, type PythonResult } from './values.js';

/** Options of {@link PythonFunction}. */
export interface PythonFunctionOptions {
  /**
   * Directories prepended to Python's `sys.path` (in this order) before the module is
   * imported. Relative paths are resolved against the current directory.
   */
  readonly paths?: readonly string[];
  /** How int64 results reach JS, for every call (see {@link Int64As}). Default `'bigint'`. */
  readonly int64?: Int64As;
  /**
   * Runs the function's calls in this pool's worker processes instead of this process. Only
   * {@link PythonFunction.callAsync} can then be used; the function is imported by each worker
   * at its first call, so an import error rejects that call.
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
  /**
   * The function has no side effects, so calling it twice does no harm. With `remote`, a call
   * whose server is lost is then tried again on another server even if it may have started
   * (and the server need not say when it starts, a little less work per call). Default
   * `false`: such a call rejects with a {@link RemoteError}, as it may have run; one that
   * cannot have started is tried again either way. In this process and in worker processes,
   * no call is ever run again.
   */
  readonly idempotent?: boolean;
}

/** Options of one {@link PythonFunction} call. */
export interface PythonCallOptions extends CallOptions {
  /** How int64 results reach JS in this call, in place of the function's setting. */
  readonly int64?: Int64As;
}

/**
 * A Python function, imported once, called with any arguments.
 *
 * ```ts
 * const findPeaks = new PythonFunction('scipy.signal', 'find_peaks');
 * const [peaks, { peak_heights }] = findPeaks.call([signal], { height: 0.5, distance: 5 });
 * findPeaks.close();
 * ```
 *
 * Typed arrays (and {@link NDArray}s) reach Python as read-only numpy views of their own
 * memory: no copy, whatever their size. A result array that nothing else in Python references
 * reaches JS without a copy too (README: "Values between JS and Python").
 */
export class PythonFunction implements Disposable {
  readonly #core: CallableCore<PlacedFunction>;
  /** The function's int64 mode, as its place numbers it. */
  readonly #int64: number;
  readonly #int64Codes: Readonly<Record<Int64As, number>>;

  /**
   * Imports `moduleName` and looks up `funcName` in it (once); a dotted `funcName` walks
   * attributes (`'linalg.norm'` in `'numpy'`). The first `Outliers` or `PythonFunction` in a
   * process starts Python.
   *
   * @throws {@link PythonError} if the import fails or the function is missing.
   * @throws TypeError if the attribute is not callable, or an argument has the wrong type.
   */
  constructor(moduleName: string, funcName: string, options: PythonFunctionOptions = {}) {
    const int64 = checkInt64(options.int64, 'options.int64') ?? 'bigint';
    if (options.idempotent !== undefined && typeof options.idempotent !== 'boolean') {
      throw new TypeError('options.idempotent must be a boolean');
    }
    const idempotent = options.idempotent === true;
    const placed = placeFor(options);
    this.#core = new CallableCore(
      'PythonFunction',
      moduleName,
      funcName,
      options.paths,
      placed.place,
      (place, module, func, paths) =>
        withRelease(place.openFunction(module, func, paths, idempotent), placed.release),
    );
    this.#int64Codes = this.#core.place.int64Modes();
    this.#int64 = this.#int64Codes[int64];
  }

  /**
   * Calls the function with `args` and `kwargs` and returns its result, converted (see
   * {@link PythonResult}). Blocks the calling thread for the duration of the Python call; see
   * {@link PythonFunction.callAsync}.
   *
   * ```ts
   * const [counts, edges] = histogram.call<[Int32Array, Float64Array]>([values], { bins: 4 });
   * ```
   *
   * @typeParam R - the type the result is known to have, as the README's "Values between JS
   *   and Python" maps it (a tuple of typed arrays, an object of them...): the value is not
   *   checked against it. Default {@link PythonResult}, any value a call can give.
   * @param args - the positional arguments (see {@link PythonArgument}).
   * @param kwargs - the keyword arguments, a plain object.
   * @throws TypeError naming the argument (`args[0]`, `kwargs.height`) that cannot be passed.
   * @throws {@link PythonError} if the function raises.
   * @throws {@link ResultError} if the result holds a value JS has no counterpart for (a set,
   *   a generator, an object array...), naming its Python type and where it was.
   * @throws {@link ClosedError} after {@link PythonFunction.close}.
   */
  call<R = PythonResult>(
    args: readonly PythonArgument[] = [],
    kwargs?: { readonly [key: string]: PythonArgument },
    options?: { readonly int64?: Int64As },
  ): R {
    if (!Array.isArray(args)) throw new TypeError('args must be an array of arguments');
    const int64 = this.#int64Of(options?.int64);
    return this.#core.open().call(args, kwargs, int64) as R;
  }

  /**
   * Like {@link PythonFunction.call}, but the call runs on py-outliers' Python thread and the
   * event loop stays free; errors are rejections with the same classes. Arrays are still not
   * copied: do not write to them until the promise settles. Detaching or transferring their
   * buffers meanwhile is safe. `options.signal` aborts as in `Outliers.detectAsync`.
   *
   * @typeParam R - the type the result is known to have, as for {@link PythonFunction.call}.
   */
  async callAsync<R = PythonResult>(
    args: readonly PythonArgument[] = [],
    kwargs?: { readonly [key: string]: PythonArgument },
    options?: PythonCallOptions,
  ): Promise<R> {
    if (!Array.isArray(args)) throw new TypeError('args must be an array of arguments');
    const signal = checkSignal(options);
    const int64 = this.#int64Of(options?.int64);
    const native = this.#core.open();
    return (await this.#core.runAsync(
      signal,
      () => native.callAsync(args, kwargs, int64),
      () => native.callAsync(args, kwargs, int64, true),
    )) as R;
  }

  #int64Of(option: unknown): number {
    const mode = checkInt64(option, 'options.int64');
    return mode === undefined ? this.#int64 : this.#int64Codes[mode];
  }

  /**
   * Releases the Python function. Idempotent. Calls after it throw {@link ClosedError};
   * async calls still queued reject with it, and a call already running finishes.
   */
  close(): void {
    this.#core.close();
  }

  /** {@link PythonFunction.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
