/**
 * What `Outliers` and `PythonFunction` share, held by each as its core: the names and paths
 * checked as every constructor takes them, the function opened once in the place where its
 * calls run (src/place.ts), async calls with that place's cancellation, and a close that
 * happens once. @internal
 */
import path from 'node:path';

import { runCancellable, withCallSite } from './cancellation.js';
import { ClosedError } from './errors.js';
import type { CallPlace } from './place.js';

/** What a place gives back for a function, whatever its contract: it closes. */
export interface Placed {
  close(): void;
}

export class CallableCore<N extends Placed> {
  #native: N | undefined;
  readonly #place: CallPlace;
  readonly #closedMessage: string;

  /**
   * Checks the names and paths and opens the function in `place` with `open`. `what` names the
   * object in its ClosedError ("the PythonFunction is closed").
   */
  constructor(
    what: string,
    moduleName: unknown,
    funcName: unknown,
    paths: unknown,
    place: CallPlace,
    open: (place: CallPlace, moduleName: string, funcName: string, paths: string[]) => N,
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
    this.#place = place;
    this.#native = open(
      place,
      moduleName,
      funcName,
      dirs.map((p: string) => path.resolve(p)),
    );
  }

  /** The place the function was opened in. */
  get place(): CallPlace {
    return this.#place;
  }

  /** The placed function, or throws ClosedError after close(). */
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
        (id, error) => this.#place.cancel(id, error),
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
