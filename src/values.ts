/** Input validation shared by the in-process and the remote detector. @internal */
import { types } from 'node:util';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'object';
}

/**
 * Checks `values` and returns what Python may see. Memory that can change size or be written
 * by another thread while Python reads it (a SharedArrayBuffer, a resizable ArrayBuffer) is
 * copied first; everything else is passed as is (zero copy). A detached buffer is refused by
 * the native layer, which can tell it from an empty array.
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

/**
 * Gives an error that arrived across an async hop (made by the native layer or a gRPC
 * callback, with no JS frames) the stack of the call that is awaiting it. Call it in the
 * `catch` of the async method: V8's async stack traces then list the awaiting callers
 * (`at async yourFunction`), as for an error thrown there, at no cost on the success path.
 * (Capturing the stack up front, before the hop, costs ~3 µs on every call.)
 */
export function withCallSite(error: unknown): unknown {
  if (error instanceof Error) Error.captureStackTrace(error);
  return error;
}
