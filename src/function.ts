/** PythonFunction: any Python callable, with any arguments, arrays passed without a copy. */
import path from 'node:path';

import { ClosedError } from './errors.js';
import { type NativePythonFunction } from './native.js';
import { addon, runCancellable } from './runtime.js';
import { checkSignal, type CallOptions } from './signal.js';
import { withCallSite } from './values.js';

/** The typed arrays that reach Python as numpy arrays (and `Float16Array` where Node has it). */
export type TypedArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Uint8ClampedArray
  | BigInt64Array
  | BigUint64Array;

/**
 * An N-dimensional array: `data` in C order (row-major) and its `shape`. As an argument it
 * reaches Python as a read-only, C-contiguous numpy view of `data`'s memory with that shape;
 * a result array of two or more dimensions comes back in this form. Make one with
 * {@link ndarray}, which checks that the shape fits.
 */
export interface NDArray<T extends TypedArray = TypedArray> {
  /** The elements, in C order (the last dimension varies fastest). */
  readonly data: T;
  /** The dimensions; their product is `data.length`. */
  readonly shape: readonly number[];
}

/**
 * What a {@link PythonFunction} accepts as an argument (README: "Values between JS and
 * Python"): a typed array or {@link NDArray} (a numpy view, no copy), a number (a safe
 * integer becomes a Python `int`, any other number a `float`), a bigint (`int`), a boolean,
 * a string, `null` or `undefined` (`None`), and arrays and plain objects of these (`list`,
 * `dict`).
 */
export type PythonArgument =
  | number
  | bigint
  | boolean
  | string
  | null
  | undefined
  | TypedArray
  | NDArray
  | readonly PythonArgument[]
  | { readonly [key: string]: PythonArgument };

/**
 * What a {@link PythonFunction} returns: a numeric ndarray as the typed array of its dtype
 * (1-D) or an {@link NDArray}; a float, an int or a numpy scalar as a number (an int beyond
 * 2^53 as a bigint); bool, str, None, list/tuple and dict as boolean, string, null, Array and
 * object.
 */
export type PythonResult =
  | number
  | bigint
  | boolean
  | string
  | null
  | TypedArray
  | NDArray
  | PythonResult[]
  | { [key: string]: PythonResult };

/**
 * How int64 and uint64 results reach JS:
 * - `'bigint'` (the default, lossless): `BigInt64Array` / `BigUint64Array`, and a Python int
 *   beyond 2^53 as a `bigint`;
 * - `'int32'`: `Int32Array` (indices, counts), each value checked to fit;
 * - `'float64'`: `Float64Array`, each value checked to be exact (at most 2^53 in size).
 *
 * In the two number modes a value that does not fit, or a Python int beyond 2^53, is a
 * {@link ResultError}, never a silently wrong number.
 */
export type Int64As = 'bigint' | 'int32' | 'float64';

const INT64_MODES: Record<Int64As, number> = { bigint: 0, int32: 1, float64: 2 };

/** Options of {@link PythonFunction}. */
export interface PythonFunctionOptions {
  /**
   * Directories prepended to Python's `sys.path` (in this order) before the module is
   * imported. Relative paths are resolved against the current directory.
   */
  readonly paths?: readonly string[];
  /** How int64 results reach JS, for every call (see {@link Int64As}). Default `'bigint'`. */
  readonly int64?: Int64As;
}

/** Options of one {@link PythonFunction} call. */
export interface PythonCallOptions extends CallOptions {
  /** How int64 results reach JS in this call, in place of the function's setting. */
  readonly int64?: Int64As;
}

function checkInt64(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !Object.hasOwn(INT64_MODES, value)) {
    throw new TypeError(`${name} must be 'bigint', 'int32' or 'float64'`);
  }
  return INT64_MODES[value as Int64As];
}

function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** The most dimensions an array may have (numpy 1.x's limit; the native side's kMaxDims). */
const MAX_DIMS = 32;
/** numpy's limit on an array's size in bytes, zero dimensions or not. */
const MAX_BYTES = 2n ** 63n - 1n;

/**
 * `{ data, shape }` for an N-dimensional argument, checked as a call checks it: at most 32
 * dimensions, each a whole number from 0, their product `data.length`, and, as numpy requires
 * even when one dimension is 0, the product of the non-zero ones times the element size within
 * 2^63-1 bytes.
 *
 * ```ts
 * const X = ndarray(new Float64Array(10_000 * 8), [10_000, 8]);  // a 10000 x 8 matrix
 * ```
 *
 * @throws TypeError if `data` is not a typed array or `shape` does not fit it.
 */
export function ndarray<T extends TypedArray>(data: T, shape: readonly number[]): NDArray<T> {
  if (!isTypedArray(data)) throw new TypeError('ndarray: data must be a typed array');
  if (!Array.isArray(shape)) throw new TypeError('ndarray: shape must be an array of numbers');
  const dims = [...shape];
  const shown = `ndarray: shape [${dims.join(', ')}]`;
  if (dims.length > MAX_DIMS) {
    throw new TypeError(`${shown} has ${dims.length} dimensions; at most ${MAX_DIMS}`);
  }
  let bytes = BigInt(data.BYTES_PER_ELEMENT); // of the non-zero dimensions
  let empty = false;
  for (const dim of dims) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new TypeError(`${shown} has a dimension that is not a whole number >= 0`);
    }
    if (dim === 0) empty = true;
    else bytes *= BigInt(dim);
  }
  if (bytes > MAX_BYTES) {
    throw new TypeError(
      `${shown} is too big for numpy (the product of its non-zero dimensions times ` +
        `${data.BYTES_PER_ELEMENT} bytes passes 2^63-1)`,
    );
  }
  const elements = empty ? 0n : bytes / BigInt(data.BYTES_PER_ELEMENT);
  if (elements !== BigInt(data.length)) {
    throw new TypeError(`${shown} does not fit ${data.length} elements`);
  }
  return Object.freeze({ data, shape: Object.freeze(dims) });
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
export class PythonFunction {
  #native: NativePythonFunction | undefined;
  readonly #int64: number;

  /**
   * Imports `moduleName` and looks up `funcName` in it (once); a dotted `funcName` walks
   * attributes (`'linalg.norm'` in `'numpy'`). The first `Outliers` or `PythonFunction` in a
   * process starts Python.
   *
   * @throws {@link PythonError} if the import fails or the function is missing.
   * @throws TypeError if the attribute is not callable, or an argument has the wrong type.
   */
  constructor(moduleName: string, funcName: string, options: PythonFunctionOptions = {}) {
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
    this.#int64 = checkInt64(options.int64, 'options.int64') ?? 0;
    const { PythonFunction: NativeClass } = addon();
    this.#native = new NativeClass(
      moduleName,
      funcName,
      paths.map((p) => path.resolve(p)),
    );
  }

  #open(): NativePythonFunction {
    if (this.#native === undefined) throw new ClosedError('the PythonFunction is closed');
    return this.#native;
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
    const int64 = checkInt64(options?.int64, 'options.int64') ?? this.#int64;
    return this.#open().call(args, kwargs, int64) as R;
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
    try {
      if (!Array.isArray(args)) throw new TypeError('args must be an array of arguments');
      const signal = checkSignal(options);
      const int64 = checkInt64(options?.int64, 'options.int64') ?? this.#int64;
      const native = this.#open();
      return (await runCancellable(
        signal,
        () => native.callAsync(args, kwargs, int64),
        () => native.callAsync(args, kwargs, int64, true),
      )) as R;
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

  /** {@link PythonFunction.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
