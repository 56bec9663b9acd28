/**
 * The C++ addon's surface, exactly as native/addon/addon.cc exports it. Internal: the public API
 * in index.ts validates every argument before it gets here.
 * @internal
 */
import fs from 'node:fs';
import path from 'node:path';

import bindings from 'bindings';

import {
  PythonStartError,
  type ClosedError,
  type PythonError,
  type ResultError,
} from './errors.js';
import { interpreterToRun } from './interpreter.js';
import { FIX_SOURCE, loadPrebuilt, prebuildsDir, type PrebuiltInterpreter } from './prebuilt.js';
import type { RuntimeInfo } from './runtime.js';
import type { PlacedDetector, PlacedFunction } from './place.js';
import type { StartSettings } from './settings.js';
import type { Int64As } from './values.js';

/** The native Outliers object (native/objects/outliers.cc): detect's contract, in this process. */
export interface NativeOutliersConstructor {
  new (moduleName: string, funcName: string, paths: string[], scratch: Int32Array): PlacedDetector;
}

/** The native PythonFunction object (native/objects/python_function.cc). */
export interface NativePythonFunctionConstructor {
  new (moduleName: string, funcName: string, paths: string[]): PlacedFunction;
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
    settings: StartSettings,
    /** Whether settings.threads was asked for (setPythonThreads): it must match a running count. */
    threadsRequired: boolean,
    /** The interpreter to behave as (pythonExecutable()). */
    executable: string,
  ): void;
  /** Rejects async call `id` with `error` now; false if it had settled. */
  cancel(id: number, error: Error): boolean;
  runtimeInfo(): RuntimeInfo;
  /** Tests and bench: 0 hands result arrays off (default), 1 copies them, 2 as if external buffers were refused. */
  setResultTransfer(mode: 0 | 1 | 2): void;
  /** What the addon was compiled against; constant, no Python start. */
  buildInfo: { executable: string; pythonVersion: string; numpyVersion: string; prebuilt: boolean };
  /** How PythonFunction's int64 modes are numbered on the native side. */
  int64Modes: Readonly<Record<Int64As, number>>;
  Outliers: NativeOutliersConstructor;
  PythonFunction: NativePythonFunctionConstructor;
}

let addon: NativeAddon | undefined;
let failure: Error | undefined;
let prebuiltInterpreter: PrebuiltInterpreter | undefined;

/** A source build (PY_OUTLIERS_BUILD_FROM_SOURCE=1, or an install with no prebuild) wins. */
function hasSourceBuild(): boolean {
  return ['Release', 'Debug'].some((kind) =>
    fs.existsSync(path.join(__dirname, '..', 'build', kind, 'py_outliers.node')),
  );
}

function load(): NativeAddon {
  if (!hasSourceBuild()) {
    const prebuilt = loadPrebuilt();
    if (prebuilt !== undefined) {
      prebuiltInterpreter = prebuilt.interpreter;
      return prebuilt.addon as NativeAddon;
    }
  }
  try {
    return bindings('py_outliers') as NativeAddon;
  } catch (error) {
    if (prebuildsDir() === undefined) throw error;
    throw new PythonStartError(
      `py-outliers: no prebuilt binary matches Node ${process.version} (ABI ` +
        `${process.versions.modules}, ${process.platform}-${process.arch}), and the addon was ` +
        `not built from source: ${FIX_SOURCE}`,
      { cause: error },
    );
  }
}

/**
 * Loads the addon once per environment: a source build (build/Release/py_outliers.node) if
 * there is one, else the prebuilt binary for this Node and the run-time Python (src/prebuilt.ts).
 * A failure is remembered: every later use throws the same error.
 */
export function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  if (failure !== undefined) throw failure;
  try {
    addon = load();
  } catch (error) {
    failure = error as Error;
    throw error;
  }
  return addon;
}

/**
 * The interpreter the embedded Python behaves as: a prebuilt binary's, chosen when it loaded;
 * for a source build, src/interpreter.ts's interpreterToRun().
 */
export function pythonExecutable(): string {
  const loaded = loadAddon();
  if (prebuiltInterpreter !== undefined) return prebuiltInterpreter.executable;
  const chosen = interpreterToRun();
  return chosen.chosenBy === 'PATH' ? loaded.buildInfo.executable : chosen.file;
}
