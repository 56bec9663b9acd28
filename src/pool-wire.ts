/**
 * The values of a pooled call on the wire to a worker process (python/py_outliers_worker.py):
 * MessagePack (@msgpack/msgpack here, python/py_outliers_wire.py there), with arrays as
 * ext values that name their bytes: inline if small, else where they lie in shared memory.
 *
 * Arguments are read by the rules of the in-process reader (native/values/js_to_plain.cc, and
 * docs/values.md): the same values are accepted, the same TypeErrors name the same paths, and
 * getters run once each, in the same order. @internal
 */
import { types } from 'node:util';

// Types only: the package is loaded on first use (msgpack() below). Loading it took ~13 ms,
// which every program that imports py-outliers paid, pool or not.
import type * as MessagePack from '@msgpack/msgpack';

import { PythonError, ResultError } from './errors.js';
import { describe, type Int64As, type TypedArray } from './values.js';

/** Ext codes: python/py_outliers_worker.py's EXT_ARRAY and EXT_BIGINT. */
const EXT_ARRAY = 1;
const EXT_BIGINT = 2;
/** An object with a `__proto__` key, as its entries (a map with it is refused by decoders). */
const EXT_OBJECT = 3;
/** native/values/plain_value.h, kMaxDepth; MAX_DIMS is numpy 1.x's limit. */
const MAX_DEPTH = 200;
const MAX_DIMS = 32;
/**
 * Arrays up to this size (16 float64 values) travel in a worker's message; larger ones go through
 * its input region. Measured (docs/processes.md): through the region a 1k-value call cost 0.86x
 * what it did inline, 120 values 0.9x, and 10 values the same either way. Inline, the bytes were
 * copied five times in Node and three in the worker, and every message differed, so the worker
 * decoded each afresh (python/py_outliers_worker.py, decode_message).
 */
export const INLINE_ARGUMENT_BYTES = 128;
/**
 * Arrays up to this size travel in the message where a region costs more: in a remote call's
 * header (one message fewer than sending them apart), and to a worker whose calls keep their
 * arguments (each such call retires the region, and the next would make a new one).
 */
export const INLINE_MESSAGE_BYTES = 16 * 1024;
/** The worker's numbering of the int64 modes (INT64_BIGINT...). */
export const INT64_MODES: Readonly<Record<Int64As, number>> = Object.freeze({
  bigint: 0,
  int32: 1,
  float64: 2,
});

/** The wire's dtype of each typed array (numpy's codes: kind and size). */
const DTYPES = new Map<string, string>([
  ['Float64Array', 'f8'],
  ['Float32Array', 'f4'],
  ['Float16Array', 'f2'],
  ['Int8Array', 'i1'],
  ['Int16Array', 'i2'],
  ['Int32Array', 'i4'],
  ['BigInt64Array', 'i8'],
  ['Uint8Array', 'u1'],
  ['Uint8ClampedArray', 'u1'],
  ['Uint16Array', 'u2'],
  ['Uint32Array', 'u4'],
  ['BigUint64Array', 'u8'],
]);

type Constructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedArray;
const float16 = (globalThis as { Float16Array?: Constructor }).Float16Array;
/** Whether this Node has Float16Array (else the worker widens float16 results to float32). */
export const HAS_FLOAT16 = float16 !== undefined;
const CONSTRUCTORS = new Map<string, Constructor>([
  ['f8', Float64Array],
  ['f4', Float32Array],
  ['i1', Int8Array],
  ['i2', Int16Array],
  ['i4', Int32Array],
  ['i8', BigInt64Array as unknown as Constructor],
  ['u1', Uint8Array],
  ['u2', Uint16Array],
  ['u4', Uint32Array],
  ['u8', BigUint64Array as unknown as Constructor],
]);
if (float16 !== undefined) CONSTRUCTORS.set('f2', float16);

/**
 * Where an argument array's bytes are, for the worker: in shared memory ([region id, path,
 * size, offset]), or, to a server, sent apart from the message (its byte count: the bytes
 * follow in the call's data, src/remote-call.ts).
 */
export type Placement =
  [regionId: number, path: string, regionSize: number, offset: number] | number;

/**
 * How a call's large argument arrays leave this process: into shared memory
 * (src/pool-worker.ts), or apart from the message to a server (src/remote-call.ts).
 */
export interface ArrayPlacer {
  /** Arrays up to this many bytes travel in the message itself. */
  readonly inlineBytes: number;
  /** A region the caller's array already lies in (ProcessPool.allocate), or undefined. */
  sharedRegionOf(array: TypedArray): Placement | undefined;
  /** Copies `array` into the call's input region, or queues it to be sent; where it went. */
  copyIn(array: TypedArray): Placement;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** An argument array on the wire: its ext bytes, known once the call's arrays are placed. */
export class ArrayRef {
  bytes = new Uint8Array(0);
}

interface Codecs {
  readonly module: typeof MessagePack;
  /** Messages, with ArrayRefs in them. */
  readonly encoder: MessagePack.Encoder;
  /** An array ext's own bytes. */
  readonly plainEncoder: MessagePack.Encoder;
}
let codecs: Codecs | undefined;

/** @msgpack/msgpack and this wire's encoders, made at the first pooled call. */
function msgpack(): Codecs {
  if (codecs !== undefined) return codecs;
  const module = require('@msgpack/msgpack') as typeof MessagePack;
  const codec = new module.ExtensionCodec();
  codec.register({
    type: EXT_ARRAY,
    encode: (value) => (value instanceof ArrayRef ? value.bytes : null),
    decode: () => null,
  });
  codecs = {
    module,
    encoder: new module.Encoder({ extensionCodec: codec, useBigInt64: true }),
    plainEncoder: new module.Encoder({ useBigInt64: true }),
  };
  return codecs;
}

/**
 * Reads a call's arguments as the in-process reader does, into values MessagePack encodes.
 * Arrays are collected first and placed once their total is known.
 */
class ArgumentReader {
  readonly #path: (string | number)[] = [];
  readonly arrays: { array: TypedArray; dtype: string; shape: number[]; ref: ArrayRef }[] = [];

  positional(args: readonly unknown[]): unknown[] {
    this.#path.push('args');
    const out = this.#items(args, args.length, 1);
    this.#path.pop();
    return out;
  }

  keywords(kwargs: unknown): Record<string, unknown> {
    if (kwargs === undefined || kwargs === null) return {};
    this.#path.push('kwargs');
    if (typeof kwargs !== 'object' || !isPlainObject(kwargs)) this.#fail('must be a plain object');
    const out = this.#object(kwargs as object, 1, true);
    this.#path.pop();
    return out as Record<string, unknown>;
  }

  #value(value: unknown, depth: number): unknown {
    if (depth > MAX_DEPTH) {
      this.#fail(`is nested deeper than ${MAX_DEPTH} levels (does it hold itself?)`);
    }
    switch (typeof value) {
      case 'undefined':
        return null;
      case 'boolean':
      case 'string':
        return value;
      case 'number':
        // A safe integer is an int (-0 too, as 0); anything else a float. MessagePack's
        // encoder draws the same line (Number.isSafeInteger).
        return Object.is(value, -0) ? 0 : value;
      case 'bigint':
        return value >= INT64_MIN && value <= UINT64_MAX
          ? value
          : new (msgpack().module.ExtData)(EXT_BIGINT, new TextEncoder().encode(value.toString()));
      case 'object':
        if (value === null) return null;
        return this.#objectValue(value, depth);
      default:
        this.#fail(`cannot be passed to Python: a ${typeof value} has no Python counterpart`);
    }
  }

  #objectValue(value: object, depth: number): unknown {
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      return this.#typedArray(value as TypedArray, undefined);
    }
    if (Array.isArray(value)) return this.#items(value, value.length, depth + 1);
    if (isPlainObject(value)) return this.#object(value, depth, false);
    if (types.isAnyArrayBuffer(value)) {
      this.#fail('is an ArrayBuffer: pass a typed array over it (new Uint8Array(buffer))');
    }
    this.#fail(
      `cannot be passed to Python: a ${describe(value)} is none of: typed array, ` +
        '{ data, shape }, number, bigint, boolean, string, null, undefined, array, plain object',
    );
  }

  #object(object: object, depth: number, top: boolean): unknown {
    const keys = Object.keys(object);
    if (!top && keys.length === 2 && keys.includes('data') && keys.includes('shape')) {
      const nd = this.#ndArray(object as { data: unknown; shape: unknown });
      if (nd !== undefined) return nd;
    }
    // No prototype: a key such as "__proto__" is a key like any other.
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of keys) {
      // The key first: the value's getter may delete the property, not un-count it.
      const item = (object as Record<string, unknown>)[key];
      this.#path.push(`.${key}`);
      out[key] = this.#value(item, depth + 1);
      this.#path.pop();
    }
    return out;
  }

  #items(array: ArrayLike<unknown>, count: number, depth: number): unknown[] {
    const out = new Array<unknown>(count);
    this.#path.push(0);
    for (let i = 0; i < count; i++) {
      this.#path[this.#path.length - 1] = i;
      out[i] = this.#value(array[i], depth);
    }
    this.#path.pop();
    return out;
  }

  /** `{ data, shape }` as an N-D array; undefined if `data` is no typed array (then a dict). */
  #ndArray(object: { data: unknown; shape: unknown }): ArrayRef | undefined {
    const data = object.data;
    if (!ArrayBuffer.isView(data) || data instanceof DataView) return undefined;
    const shape = object.shape;
    this.#path.push('.shape');
    if (!Array.isArray(shape)) this.#fail('must be an array of dimensions');
    if (shape.length > MAX_DIMS) {
      this.#fail(`has ${shape.length} dimensions; at most ${MAX_DIMS}`);
    }
    const dims: number[] = [];
    for (let i = 0; i < shape.length; i++) {
      const dim: unknown = shape[i];
      if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
        this.#fail(`[${i}] must be a whole number >= 0`);
      }
      dims.push(dim);
    }
    this.#path[this.#path.length - 1] = '.data';
    const ref = this.#typedArray(data as TypedArray, undefined);
    this.#path.pop();
    this.#fitShape(data as TypedArray, dims);
    this.arrays[this.arrays.length - 1]!.shape = dims;
    return ref;
  }

  #typedArray(array: TypedArray, shape: number[] | undefined): ArrayRef {
    const buffer = array.buffer as ArrayBufferLike & { resizable?: boolean };
    if (isDetached(buffer)) this.#fail("'s ArrayBuffer is detached");
    if (buffer.resizable === true) {
      this.#fail(
        'is over a resizable ArrayBuffer, which could shrink while Python reads it: pass a ' +
          'copy (.slice())',
      );
    }
    const dtype = DTYPES.get(describe(array));
    if (dtype === undefined) this.#fail('is a typed array of a kind this build does not know');
    // Filled in by placeArguments(), once every array is known.
    const ref = new ArrayRef();
    this.arrays.push({ array, dtype, shape: shape ?? [array.length], ref });
    return ref;
  }

  /** `{ data, shape }`: the shape must fit the data, as numpy counts it. */
  #fitShape(array: TypedArray, dims: number[]): void {
    {
      let bytes = BigInt(array.BYTES_PER_ELEMENT);
      let empty = false;
      for (const dim of dims) {
        if (dim === 0) empty = true;
        else bytes *= BigInt(dim);
      }
      const tooBig = bytes > 2n ** 63n - 1n;
      const elements = empty ? 0n : bytes / BigInt(array.BYTES_PER_ELEMENT);
      if (tooBig || elements !== BigInt(array.length)) {
        this.#fail(
          `has shape [${dims.join(', ')}], which ` +
            (tooBig
              ? 'is too big for numpy (the product of its non-zero dimensions times ' +
                `${array.BYTES_PER_ELEMENT} bytes passes 2^63-1)`
              : `does not fit its ${array.length} elements`),
        );
      }
    }
  }

  #fail(what: string): never {
    let where = '';
    for (const step of this.#path) where += typeof step === 'number' ? `[${step}]` : step;
    const joined = what.startsWith("'") || what.startsWith('[');
    throw new TypeError(where + (joined ? '' : ' ') + what);
  }
}

/** Whether `buffer` was transferred or detached (`buffer.detached`, where Node has it). */
export function isDetached(buffer: ArrayBufferLike): boolean {
  const detached = (buffer as { detached?: boolean }).detached;
  if (detached !== undefined) return detached;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer); // Node 20: a detached buffer cannot be viewed
    return false;
  } catch {
    return true;
  }
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype || isObjectPrototypeOfAnotherRealm(proto);
}

function isObjectPrototypeOfAnotherRealm(proto: unknown): boolean {
  return (
    typeof proto === 'object' &&
    proto !== null &&
    Object.getPrototypeOf(proto) === null &&
    (proto as { constructor?: { name?: unknown } }).constructor?.name === 'Object'
  );
}

/** A call's arguments as read: values MessagePack encodes, and the arrays still to place. */
export interface ReadArguments {
  readonly positional: unknown[];
  readonly keywords: Record<string, unknown>;
  readonly arrays: readonly { array: TypedArray; dtype: string; shape: number[]; ref: ArrayRef }[];
}

/**
 * Reads a call's arguments now, as the in-process call does before it returns (getters run,
 * TypeErrors are thrown here); their arrays are placed when the call is sent.
 */
export function readArguments(args: readonly unknown[], kwargs: unknown): ReadArguments {
  const reader = new ArgumentReader();
  const positional = reader.positional(args);
  const keywords = reader.keywords(kwargs);
  return { positional, keywords, arrays: reader.arrays };
}

/** The bytes of the arrays `placeArguments` will copy into an input region (64-byte aligned). */
export function bytesToCopy(arrays: readonly { array: TypedArray }[], placer: ArrayPlacer): number {
  let total = 0;
  for (const { array } of arrays) {
    if (array.byteLength > placer.inlineBytes && placer.sharedRegionOf(array) === undefined) {
      total += alignUp(array.byteLength);
    }
  }
  return total;
}

/** Up to a multiple of 64 bytes: every array in a region starts on a cache line. */
export function alignUp(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** Places each array of `read`: in its own shared region, inline, or copied by `placer`. */
export function placeArguments(read: ReadArguments, placer: ArrayPlacer): void {
  for (const { array, dtype, shape, ref } of read.arrays) {
    ref.bytes = msgpack().plainEncoder.encode([dtype, shape, placement(array, placer)]);
  }
}

function placement(array: TypedArray, placer: ArrayPlacer): Uint8Array | Placement {
  return (
    placer.sharedRegionOf(array) ??
    (array.byteLength <= placer.inlineBytes
      ? new Uint8Array(array.buffer, array.byteOffset, array.byteLength)
      : placer.copyIn(array))
  );
}

/** Detect's one argument: a Float64Array, inline or placed. */
export function encodeValues(values: Float64Array, placer: ArrayPlacer): MessagePack.ExtData {
  const { module, plainEncoder } = msgpack();
  return new module.ExtData(
    EXT_ARRAY,
    plainEncoder.encode(['f8', [values.length], placement(values, placer)]),
  );
}

/** One message as MessagePack (a server's call header; a frame's body). */
export function encodeMessage(message: unknown): Uint8Array {
  return msgpack().encoder.encode(message);
}

/** One message to a worker, as a frame: its u32 length, then MessagePack. */
export function frame(message: unknown): Uint8Array {
  // The encoder's own buffer, copied once below: not encode()'s copy, then this one.
  const body = msgpack().encoder.encodeSharedRef(message);
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength, true);
  out.set(body, 4);
  return out;
}

/**
 * Decodes worker (or server) messages. A result's array is inline, or in a worker's file (mapped
 * by `map`), or, from a server, sent apart: its byte count, whose bytes `take` gives.
 */
export function messageDecoder(
  map: (path: string, bytes: number) => ArrayBuffer,
  take?: (bytes: number) => ArrayBuffer,
): MessagePack.Decoder {
  const { Decoder, ExtensionCodec } = msgpack().module;
  const results = new ExtensionCodec();
  results.register({
    type: EXT_ARRAY,
    encode: () => null,
    decode: (bytes) => {
      const [dtype, shape, where] = inner.decode(bytes) as [
        string,
        number[],
        Uint8Array | [string, number] | number,
      ];
      const Type = CONSTRUCTORS.get(dtype);
      if (Type === undefined) throw new Error(`the worker sent an array of dtype ${dtype}`);
      // Inline: a copy, aligned for its type (the message's bytes are not). Else the
      // worker's file, mapped: no copy here.
      let buffer: ArrayBuffer;
      if (where instanceof Uint8Array) buffer = new Uint8Array(where).buffer;
      else if (typeof where === 'number' && take !== undefined) buffer = take(where);
      else if (Array.isArray(where)) buffer = map(where[0], where[1]);
      else throw new Error('the worker sent an array with no place');
      const data = new Type(
        buffer,
        0,
        shape.reduce((a, b) => a * b, 1),
      );
      return shape.length === 1 ? data : { data, shape };
    },
  });
  results.register({
    type: EXT_BIGINT,
    encode: () => null,
    decode: (data) => BigInt(new TextDecoder().decode(data)),
  });
  results.register({
    type: EXT_OBJECT,
    encode: () => null,
    decode: (bytes) => {
      const entries = decoder.decode(bytes) as unknown[];
      const out: Record<string, unknown> = {};
      for (let i = 0; i < entries.length; i += 2) {
        Object.defineProperty(out, entries[i] as string, {
          value: entries[i + 1],
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    },
  });
  const inner = new Decoder({ useBigInt64: true });
  const decoder = new Decoder({ extensionCodec: results, useBigInt64: true });
  return decoder;
}

/** Reply statuses: python/py_outliers_worker.py's OK, PYTHON_ERROR, INVALID, TYPE_ERROR. */
const OK = 0;
const PYTHON_ERROR = 1;
const INVALID = 2;
const TYPE_ERROR = 3;

/** Settles a call by its reply (a worker's or a server's): its result, or the error it names. */
export function settleReply(
  status: number,
  payload: unknown,
  resolve: (value: unknown) => void,
  reject: (error: unknown) => void,
): void {
  if (status === OK) {
    resolve(payload);
  } else if (status === PYTHON_ERROR) {
    const [type, message, traceback] = payload as [string, string, string];
    reject(new PythonError(message, type, traceback));
  } else if (status === INVALID) {
    const [message, cause] = payload as [string, [string, string, string] | null];
    reject(
      new ResultError(
        message,
        cause === null ? undefined : { cause: new PythonError(cause[1], cause[0], cause[2]) },
      ),
    );
  } else if (status === TYPE_ERROR) {
    reject(new TypeError(payload as string));
  } else {
    reject(new Error(`py-outliers: the worker sent status ${status}`));
  }
}
