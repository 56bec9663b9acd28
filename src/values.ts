/**
 * The values that cross between JS and Python (README, "Values between JS and Python"): their
 * types, `ndarray()`, and the checks of a call's inputs, shared by every place a call runs.
 */
import { types } from 'node:util';

/** What `value` is, for a message: its constructor's name, or its type. @internal */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  try {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? name : 'object';
  } catch {
    return 'object'; // a getter that throws: the message still names something
  }
}

/**
 * Checks `values` and returns what Python may see. Memory that can change size or be written
 * by another thread while Python reads it (a SharedArrayBuffer, a resizable ArrayBuffer) is
 * copied first; everything else is passed as is (zero copy). A detached buffer is refused by
 * the native layer, which can tell it from an empty array. @internal
 */
export function checkValues(values: unknown): Float64Array {
  if (!types.isFloat64Array(values)) {
    throw new TypeError(`values must be a Float64Array, got ${describe(values)}`);
  }
  const buffer = values.buffer as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  // The common case first, at the cost of two property reads (this is the per-call path).
  if (buffer instanceof ArrayBuffer && buffer.resizable !== true) return values;
  // SharedArrayBuffer (from any realm), resizable or growable buffers: copy.
  if (types.isSharedArrayBuffer(buffer) || buffer.resizable === true || buffer.growable === true) {
    return values.slice();
  }
  return values; // an ArrayBuffer from another realm (vm context)
}

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

const INT64_MODES: readonly string[] = ['bigint', 'int32', 'float64'] satisfies Int64As[];

/** `int64` checked: one of the {@link Int64As} names, or undefined if not given. @internal */
export function checkInt64(value: unknown, name: string): Int64As | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !INT64_MODES.includes(value)) {
    throw new TypeError(`${name} must be 'bigint', 'int32' or 'float64'`);
  }
  return value as Int64As;
}
