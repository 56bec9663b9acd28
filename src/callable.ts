/**
 * What `Outliers` and `PythonFunction` share, held by each as its core: the names and paths
 * checked as every constructor takes them, the function looked up once in the place where its
 * calls run, async calls with cancellation, and a close that happens once. @internal
 */
import path from 'node:path';

import { runCancellable, withCallSite } from './cancellation.js';
import { ClosedError } from './errors.js';
import { addon } from './runtime.js';

/** The native object behind a callable (native/objects/): whatever its contract, it closes. */
export interface NativeCallable {
  close(): void;
}

/**
 * Where a function's calls run (docs/architecture.md, "The call core"): the seam where worker
 * processes and remote servers join. In this process the place is the addon: it opens the
 * native object (a sync method on the JS thread, an async one on the Python pool) and cancels
 * async calls by id.
 */
export interface CallPlace {
  /** Rejects async call `id` with `error` now, interrupting it if it runs; false if settled. */
  cancel(id: number, error: Error): boolean;
}

/** This process: the addon, with Python started once per process. */
export const inProcess: CallPlace = {
  cancel: (id, error) => addon().cancel(id, error),
};

export class CallableCore<N extends NativeCallable> {
  #native: N | undefined;
  readonly #closedMessage: string;

  /**
   * Checks the names and paths and opens the native object with `open`. `what` names the
   * object in its ClosedError ("the PythonFunction is closed").
   */
  constructor(
    what: string,
    moduleName: unknown,
    funcName: unknown,
    paths: unknown,
    open: (moduleName: string, funcName: string, paths: string[]) => N,
  ) {
    if (typeof moduleName !== 'string' || moduleName === '') {
      throw new TypeError('moduleName must be a non-empty string');
    }
    if (typeof funcName !== 'string' || funcName === '') {
      throw new TypeError('funcName must be a non-empty string');
    }
    const dirs = paths ?? [];
    if (!Array.isArray(dirs) || !dirs.every((p) => typeof p === 'string')) {
      throw new TypeError('options.paths must be an array of strings');
    }
    this.#closedMessage = `the ${what} is closed`;
    this.#native = open(
      moduleName,
      funcName,
      dirs.map((p: string) => path.resolve(p)),
    );
  }

  /** The native object, or throws ClosedError after close(). */
  open(): N {
    if (this.#native === undefined) throw new ClosedError(this.#closedMessage);
    return this.#native;
  }

  /**
   * One async call in the object's place, cancellable through `signal`: `start()` without one,
   * `startWithId()` (the promise and the call's id) with one. A rejection carries the stack of
   * the caller awaiting it.
   */
  async runAsync<T>(
    signal: AbortSignal | undefined,
    start: () => Promise<T>,
    startWithId: () => [Promise<T>, number],
  ): Promise<T> {
    try {
      return await runCancellable(
        signal,
        (id, error) => inProcess.cancel(id, error),
        start,
        startWithId,
      );
    } catch (error) {
      throw withCallSite(error);
    }
  }

  /** Idempotent: the native object is closed once. */
  close(): void {
    this.#native?.close();
    this.#native = undefined;
  }
}
