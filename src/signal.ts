/** AbortSignal handling shared by the in-process and the remote detector. @internal */
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

/**
 * What `Outliers` and `RemoteOutliers` both are, for async use: a service can take either, and
 * move from one process to many machines without changing its calls.
 *
 * ```ts
 * function handler(detector: AsyncDetector) {
 *   return (values: Float64Array) => detector.detectAsync(values, { signal: AbortSignal.timeout(100) });
 * }
 * handler(new Outliers());
 * handler(new RemoteOutliers(['10.0.0.1:50051', '10.0.0.2:50051']));
 * ```
 */
export interface AsyncDetector extends Disposable {
  /** The indices of `values`' outliers, off the event loop; `signal` aborts the call. */
  detectAsync(values: Float64Array, options?: CallOptions): Promise<Int32Array>;
  /** Releases the detector. Idempotent; calls after it throw (or reject with) `ClosedError`. */
  close(): void;
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
