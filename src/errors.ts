/**
 * Errors thrown (or rejected with) by py-outliers, besides the built-in TypeError/RangeError.
 * Each has a string `code`, as Node's own errors do: `ERR_PY_OUTLIERS_*`, and `ABORT_ERR` for
 * an abort.
 */

/** The `code` of each py-outliers error class. */
export type PyOutliersErrorCode =
  | 'ERR_PY_OUTLIERS_PYTHON'
  | 'ERR_PY_OUTLIERS_RESULT'
  | 'ERR_PY_OUTLIERS_CLOSED'
  | 'ERR_PY_OUTLIERS_REMOTE'
  | 'ERR_PY_OUTLIERS_PYTHON_START'
  | 'ERR_PY_OUTLIERS_PROCESS_EXIT'
  | 'ABORT_ERR';

/**
 * A Python exception raised by the called function (or while importing it).
 *
 * `message` is `str(exception)`, `type` the exception class's name (e.g. `'ValueError'`,
 * `'SystemExit'`), `traceback` the formatted Python traceback. Raising `SystemExit` or
 * `KeyboardInterrupt` in Python gives this error too; it never ends the Node process.
 */
export class PythonError extends Error {
  /** `'ERR_PY_OUTLIERS_PYTHON'`. */
  readonly code = 'ERR_PY_OUTLIERS_PYTHON';
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
 * The Python function returned something that breaks the rules: for `Outliers`, not a 1-D
 * integer array or sequence, more indices than input values, or an index outside
 * `[0, values.length)`; for `PythonFunction`, a value JS has no counterpart for, or an int64
 * that does not fit the mode asked for. The message says which, and where. If Python code
 * raised while the result was read (a hostile `__len__`, out of memory), `cause` is that
 * exception, as a {@link PythonError}.
 */
export class ResultError extends Error {
  /** `'ERR_PY_OUTLIERS_RESULT'`. */
  readonly code = 'ERR_PY_OUTLIERS_RESULT';

  constructor(message: string, options?: ErrorOptions) {
    super(`invalid result from the Python function: ${message}`, options);
    this.name = 'ResultError';
  }
}

/** A call on an `Outliers`, `PythonFunction` or `RemoteOutliers` object after `close()`. */
export class ClosedError extends Error {
  /** `'ERR_PY_OUTLIERS_CLOSED'`. */
  readonly code = 'ERR_PY_OUTLIERS_CLOSED';

  constructor(message = 'the Outliers detector is closed') {
    super(message);
    this.name = 'ClosedError';
  }
}

/**
 * A {@link RemoteOutliers} call failed in transport: the server is unreachable, the deadline
 * passed, or the server broke the protocol. `grpcStatus` is the gRPC status code.
 */
export class RemoteError extends Error {
  /** `'ERR_PY_OUTLIERS_REMOTE'`. */
  readonly code = 'ERR_PY_OUTLIERS_REMOTE';
  /** The gRPC status code (`@grpc/grpc-js` `status`), e.g. 14 for UNAVAILABLE. */
  readonly grpcStatus: number;

  constructor(message: string, grpcStatus: number) {
    super(message);
    this.name = 'RemoteError';
    this.grpcStatus = grpcStatus;
  }
}

/**
 * Python could not start in this process (no usable interpreter, a libpython or numpy that
 * does not match the build...). The message names the cause and the fix. Every later call in
 * the process fails with the same error: an interpreter that failed to start is not retried.
 */
export class PythonStartError extends Error {
  /** `'ERR_PY_OUTLIERS_PYTHON_START'`. */
  readonly code = 'ERR_PY_OUTLIERS_PYTHON_START';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PythonStartError';
  }
}

/**
 * The worker process of a {@link ProcessPool} that was running the call ended before it
 * returned: a signal (a segfault in a C extension, the OOM killer's SIGKILL), `os._exit()`, or
 * a kill after an abort that the call did not heed within `killAfterMs`. Only that call fails:
 * the pool replaces the worker, and calls that were not sent to it run on the others.
 */
export class ProcessExitError extends Error {
  /** `'ERR_PY_OUTLIERS_PROCESS_EXIT'`. */
  readonly code = 'ERR_PY_OUTLIERS_PROCESS_EXIT';
  /** The worker's exit code, or null if a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, such as `'SIGSEGV'` or `'SIGKILL'`; null if it exited. */
  readonly signal: NodeJS.Signals | null;
  /** The worker's process id. */
  readonly pid: number;
  /** The last lines the worker wrote to its stderr (a fault handler's traceback, say). */
  readonly stderr: string;

  constructor(pid: number, exitCode: number | null, signal: NodeJS.Signals | null, stderr: string) {
    const how =
      signal === null ? `exited with code ${String(exitCode)}` : `was killed by ${signal}`;
    super(
      `the worker process ${pid} ${how} while it ran the call` +
        (stderr === '' ? '' : `; its last lines on stderr:\n${stderr}`),
    );
    this.name = 'ProcessExitError';
    this.exitCode = exitCode;
    this.signal = signal;
    this.pid = pid;
    this.stderr = stderr;
  }
}

/**
 * The call was aborted through its `AbortSignal`, as Node's own APIs report it: `name` is
 * `'AbortError'`, `code` is `'ABORT_ERR'`, and `cause` is the signal's `reason` (for
 * `AbortSignal.timeout()`, a `TimeoutError` DOMException).
 */
export class AbortError extends Error {
  /** `'ABORT_ERR'`. */
  readonly code = 'ABORT_ERR';

  constructor(reason?: unknown) {
    super('The operation was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}
