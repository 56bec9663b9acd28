/**
 * The placed objects of a place whose calls can only be async (worker processes, src/pool.ts;
 * a server, src/remote-call.ts): what both give `Outliers` and `PythonFunction` around their own
 * way of starting a call. @internal
 */
import { ClosedError } from './errors.js';
import type { PlacedDetector, PlacedFunction } from './place.js';

/**
 * A detector of a place whose calls can only be async (worker processes, a server): `detect`
 * throws a TypeError naming `detectAsync`, saying why (`why`); an empty input gives an empty
 * result without a call; `submit` starts a call, with its id; `onClose` runs at close().
 */
export function asyncOnlyDetector(
  why: string,
  submit: (values: Float64Array) => [Promise<unknown>, number],
  onClose: () => void = () => {},
): PlacedDetector {
  let closed = false;
  const start = (values: Float64Array): [Promise<Int32Array>, number] => {
    if (closed) throw new ClosedError('the Outliers detector is closed');
    if (values.length === 0) return [Promise.resolve(new Int32Array(0)), -1];
    return submit(values) as [Promise<Int32Array>, number];
  };
  return {
    detect: () => {
      throw new TypeError(`detect() cannot run ${why}: use detectAsync()`);
    },
    detectAsync: ((values: Float64Array, withId?: true) =>
      withId === true ? start(values) : start(values)[0]) as PlacedDetector['detectAsync'],
    close: () => {
      closed = true;
      onClose();
    },
  };
}

/** The same for PythonFunction's contract: `call` throws a TypeError naming `callAsync`. */
export function asyncOnlyFunction(
  why: string,
  submit: (
    args: readonly unknown[],
    kwargs: object | undefined,
    int64: number,
  ) => [Promise<unknown>, number],
  onClose: () => void = () => {},
): PlacedFunction {
  let closed = false;
  const start = (
    args: readonly unknown[],
    kwargs: object | undefined,
    int64: number,
  ): [Promise<unknown>, number] => {
    if (closed) throw new ClosedError('the PythonFunction is closed');
    return submit(args, kwargs, int64);
  };
  return {
    call: () => {
      throw new TypeError(`call() cannot run ${why}: use callAsync()`);
    },
    callAsync: ((
      args: readonly unknown[],
      kwargs: object | undefined,
      int64: number,
      withId?: true,
    ) =>
      withId === true
        ? start(args, kwargs, int64)
        : start(args, kwargs, int64)[0]) as PlacedFunction['callAsync'],
    close: () => {
      closed = true;
      onClose();
    },
  };
}
