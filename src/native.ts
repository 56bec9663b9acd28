/**
 * The C++ addon's surface, exactly as native/addon.cc exports it. Internal: the public API
 * in index.ts validates every argument before it gets here.
 * @internal
 */
import bindings from 'bindings';

import type { ClosedError, PythonError, PythonStartError, ResultError } from './errors.js';
import type { RuntimeInfo } from './runtime.js';

/** The native Outliers object (native/outliers.cc). */
export interface NativeOutliers {
  /** The number of indices written to the scratch array, or a new array if they did not fit. */
  detect(values: Float64Array): number | Int32Array;
  detectAsync(values: Float64Array): Promise<Int32Array>;
  /** With an id for cancel(); -1 if the promise is settled already (an empty input). */
  detectAsync(values: Float64Array, withId: true): [Promise<Int32Array>, number];
  close(): void;
}

export interface NativeOutliersConstructor {
  new (moduleName: string, funcName: string, paths: string[], scratch: Int32Array): NativeOutliers;
}

/** The native PythonFunction object (native/python_function.cc). int64: 0 bigint, 1 int32, 2 float64. */
export interface NativePythonFunction {
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

export interface NativePythonFunctionConstructor {
  new (moduleName: string, funcName: string, paths: string[]): NativePythonFunction;
}

export interface NativeAddon {
  /** Starts Python once per process and prepares this environment (thread) to call it. */
  start(
    pythonDir: string,
    errors: {
      PythonError: typeof PythonError;
      ResultError: typeof ResultError;
      ClosedError: typeof ClosedError;
      PythonStartError: typeof PythonStartError;
    },
    /** 0: the process's setting; else the count asked for, which must match a running one. */
    threads: number,
  ): void;
  /** Rejects async call `id` with `error` now; false if it had settled. */
  cancel(id: number, error: Error): boolean;
  runtimeInfo(): RuntimeInfo;
  /** Tests and bench: 0 hands result arrays off (default), 1 copies them, 2 as if external buffers were refused. */
  setResultTransfer(mode: 0 | 1 | 2): void;
  /** What the addon was compiled against; constant, no Python start. */
  buildInfo: { executable: string; pythonVersion: string; numpyVersion: string };
  Outliers: NativeOutliersConstructor;
  PythonFunction: NativePythonFunctionConstructor;
}

let addon: NativeAddon | undefined;

/** Loads the compiled addon (build/Release/py_outliers.node), once per environment. */
export function loadAddon(): NativeAddon {
  addon ??= bindings('py_outliers') as NativeAddon;
  return addon;
}
