/** Errors thrown (or rejected with) by py-outliers, besides the built-in TypeError/RangeError. */

/**
 * A Python exception raised by the called function (or while importing it).
 *
 * `message` is `str(exception)`, `type` the exception class's name (e.g. `'ValueError'`,
 * `'SystemExit'`), `traceback` the formatted Python traceback. Raising `SystemExit` or
 * `KeyboardInterrupt` in Python gives this error too; it never ends the Node process.
 */
export class PythonError extends Error {
  /** The Python exception class name, e.g. `'ValueError'`. */
  readonly type: string;
  /** The formatted Python traceback (`traceback.format_exception`). */
  readonly traceback: string;

  constructor(message: string, type: string, traceback: string) {
    super(message);
    this.name = 'PythonError';
    this.type = type;
    this.traceback = traceback;
  }
}

/**
 * The Python function returned something that is not a valid list of indices: not a 1-D
 * integer array or sequence, more indices than input values, or an index outside
 * `[0, values.length)`. The message says which.
 */
export class ResultError extends Error {
  constructor(message: string) {
    super(`invalid result from the Python function: ${message}`);
    this.name = 'ResultError';
  }
}

/** A call on an `Outliers` or `PythonFunction` object after `close()`. */
export class ClosedError extends Error {
  constructor(message = 'the Outliers detector is closed') {
    super(message);
    this.name = 'ClosedError';
  }
}

/**
 * A {@link RemoteOutliers} call failed in transport: the server is unreachable, the deadline
 * passed, or the server broke the protocol. `code` is the gRPC status code.
 */
export class RemoteError extends Error {
  /** The gRPC status code (`@grpc/grpc-js` `status`), e.g. 14 for UNAVAILABLE. */
  readonly code: number;

  constructor(message: string, code: number) {
    super(message);
    this.name = 'RemoteError';
    this.code = code;
  }
}

/**
 * The call was aborted through its `AbortSignal`, as Node's own APIs report it: `name` is
 * `'AbortError'`, `code` is `'ABORT_ERR'`, and `cause` is the signal's `reason` (for
 * `AbortSignal.timeout()`, a `TimeoutError` DOMException).
 */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';

  constructor(reason?: unknown) {
    super('The operation was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}
