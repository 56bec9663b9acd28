/**
 * Where a function's calls run: the seam of the call core (docs/architecture.md, "The call
 * core"). A place opens a function under one of the two contracts and gives back an object that
 * calls it; `Outliers` and `PythonFunction` hold such an object and validate around it. In this
 * process the place is the addon: a sync call runs on the JS thread, an async one on the Python
 * pool. Worker processes and remote servers are places too: they implement the same interfaces
 * over their own transport (a sync method there throws a TypeError naming the async one).
 * @internal
 */
import { placeOf, type ProcessPool } from './pool.js';
import { remotePlaceOf, type Remote } from './remote-call.js';
import type { RemoteTlsOptions } from './remote.js';
import { addon } from './runtime.js';
import type { Int64As } from './values.js';

/** A function opened under detect's contract: Float64Array in, indices out. */
export interface PlacedDetector {
  /** The number of indices written to the scratch array, or a new array if they did not fit. */
  detect(values: Float64Array): number | Int32Array;
  detectAsync(values: Float64Array): Promise<Int32Array>;
  /** With an id for cancel(); -1 if the promise is settled already (an empty input). */
  detectAsync(values: Float64Array, withId: true): [Promise<Int32Array>, number];
  close(): void;
}

/** A function opened under PythonFunction's contract; `int64` as the place numbers the modes. */
export interface PlacedFunction {
  call(args: readonly unknown[], kwargs: object | undefined, int64: number): unknown;
  callAsync(args: readonly unknown[], kwargs: object | undefined, int64: number): Promise<unknown>;
  callAsync(
    args: readonly unknown[],
    kwargs: object | undefined,
    int64: number,
    withId: true,
  ): [Promise<unknown>, number];
  close(): void;
}

export interface CallPlace {
  /** Opens `funcName` in `moduleName` (after `paths` on sys.path) under detect's contract. */
  openDetector(
    moduleName: string,
    funcName: string,
    paths: string[],
    scratch: Int32Array,
  ): PlacedDetector;
  /**
   * Opens `funcName` in `moduleName` under PythonFunction's contract. `idempotent`: a call
   * may be run again where the place retries calls (remote servers only).
   */
  openFunction(
    moduleName: string,
    funcName: string,
    paths: string[],
    idempotent?: boolean,
  ): PlacedFunction;
  /** How the place numbers the int64 modes of a PlacedFunction call. */
  int64Modes(): Readonly<Record<Int64As, number>>;
  /** Rejects async call `id` with `error` now, interrupting it if it runs; false if settled. */
  cancel(id: number, error: Error): boolean;
}

/** This process: the addon, with Python started once per process on first use. */
export const inProcess: CallPlace = {
  openDetector: (moduleName, funcName, paths, scratch) =>
    new (addon().Outliers)(moduleName, funcName, paths, scratch),
  openFunction: (moduleName, funcName, paths) =>
    new (addon().PythonFunction)(moduleName, funcName, paths),
  int64Modes: () => addon().int64Modes,
  cancel: (id, error) => addon().cancel(id, error),
};

/** Where an object's calls run, as its options say: `pool`, `remote`, or this process. */
export interface PlaceOptions {
  readonly pool?: ProcessPool;
  readonly remote?: Remote | string | readonly string[];
  readonly tls?: RemoteTlsOptions;
  readonly token?: string;
}

/**
 * The place of an object made with `options`, and what to close with it: a Remote made for an
 * address given as `remote` (with `tls` and `token`) is the object's own.
 */
export function placeFor(options: PlaceOptions): { place: CallPlace; release?: () => void } {
  const { pool, remote, tls, token } = options;
  if (pool !== undefined && remote !== undefined) {
    throw new TypeError('options.pool and options.remote cannot both be set');
  }
  const remoteByAddress = typeof remote === 'string' || Array.isArray(remote);
  if ((tls !== undefined || token !== undefined) && !remoteByAddress) {
    throw new TypeError(
      'options.tls and options.token go with options.remote as an address (a Remote has its own)',
    );
  }
  if (pool !== undefined) return { place: placeOf(pool) };
  if (remote === undefined) return { place: inProcess };
  const { place, owned } = remotePlaceOf(remote, {
    ...(tls === undefined ? {} : { tls }),
    ...(token === undefined ? {} : { token }),
  });
  return owned === undefined ? { place } : { place, release: () => owned.close() };
}

/** `placed`, whose close() also runs `release` (a Remote the object owns). */
export function withRelease<T extends { close(): void }>(placed: T, release?: () => void): T {
  if (release === undefined) return placed;
  const close = placed.close.bind(placed);
  return Object.assign(placed, {
    close: () => {
      close();
      release();
    },
  });
}
