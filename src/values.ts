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

/** Puts the frames of the JS call site (captured before an async hop) into `error`'s stack. */
export function withCallSite(error: unknown, callSite: { stack?: string }): unknown {
  if (error instanceof Error && callSite.stack !== undefined) {
    const frames = callSite.stack.slice(callSite.stack.indexOf('\n'));
    error.stack = `${error.name}: ${error.message}${frames}`;
  }
  return error;
}
