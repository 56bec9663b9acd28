/**
 * Cancellation and the errors of async calls, for every place a call runs: a call's
 * `AbortSignal`, one listener per signal, and the caller's stack on errors that crossed a hop.
 * @internal
 */
import { addAbortListener } from 'node:events';

import { AbortError } from './errors.js';

/** Options of one call: `detectAsync` and `RemoteOutliers.detect`. */
export interface CallOptions {
  /**
   * Aborts the call: its promise rejects at once with an {@link AbortError} whose `cause` is
   * `signal.reason`. `AbortSignal.timeout(ms)` gives a deadline.
   */
  readonly signal?: AbortSignal;
}

/** The call's signal, checked; throws TypeError for anything that is not an AbortSignal. */
export function checkSignal(options: CallOptions | undefined): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object');
  }
  const { signal } = options;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  return signal;
}

/** One 'abort' listener per signal, whatever the number of calls in flight on it. */
const watched = new WeakMap<AbortSignal, { calls: Set<() => void>; listener: Disposable }>();

/**
 * Runs `onAbort` once if `signal` aborts before the returned disposer is called.
 *
 * Each signal gets one listener, shared by every call in flight on it, added with
 * `events.addAbortListener` as Node's own APIs do (it runs even if another listener calls
 * stopImmediatePropagation()), and removed when the last of those calls settles. So a
 * long-lived signal shared by a service's calls collects no listeners, and 64 calls in flight
 * on one signal do not set off Node's MaxListenersExceededWarning (more than 10 listeners).
 */
export function onAbort(signal: AbortSignal, onAbort: (error: AbortError) => void): Disposable {
  let entry = watched.get(signal);
  if (entry === undefined) {
    const calls = new Set<() => void>();
    const listener = addAbortListener(signal, () => {
      for (const call of [...calls]) call();
    });
    entry = { calls, listener };
    watched.set(signal, entry);
  }
  const { calls, listener } = entry;
  const call = (): void => onAbort(new AbortError(signal.reason));
  calls.add(call);
  return {
    [Symbol.dispose]() {
      calls.delete(call);
      if (calls.size === 0 && watched.get(signal) === entry) {
        listener[Symbol.dispose]();
        watched.delete(signal);
      }
    },
  };
}

/**
 * Runs one async call, cancellable through `signal`: `start()` without one, `startWithId()`
 * (the promise and the call's id) with one, and `cancel(id, error)` if the signal aborts.
 */
export function runCancellable<T>(
  signal: AbortSignal | undefined,
  cancel: (id: number, error: AbortError) => void,
  start: () => Promise<T>,
  startWithId: () => [Promise<T>, number],
): Promise<T> {
  if (signal === undefined) return start();
  // Thrown, not returned as a rejection: the caller's stack is still the one calling it.
  if (signal.aborted) throw new AbortError(signal.reason);
  const [promise, id] = startWithId();
  const listener = onAbort(signal, (error) => cancel(id, error));
  return promise.finally(() => listener[Symbol.dispose]());
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
