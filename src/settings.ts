/**
 * The `PY_OUTLIERS_*` settings, each read from the environment and checked here, once per
 * process, and passed on as typed values: to the native start (threads, the low-latency mode,
 * malloc tuning, the exit timeout) and to the interpreter's choice. Nothing else reads them.
 * The table in the README ("Configuration") is the user's view of this file. The build-time
 * settings (`PY_OUTLIERS_PYTHON` as the build's interpreter, `PY_OUTLIERS_BUILD_FROM_SOURCE`)
 * are the install's: scripts/install.js and scripts/python_config.js run before this package's
 * TypeScript is built. @internal
 */
import { PythonStartError } from './errors.js';

/** The most Python threads a process may have. */
export const MAX_PYTHON_THREADS = 64;
/** The low-latency mode's longest window, µs. */
export const MAX_LOW_LATENCY_US = 1000;

/** What the native start takes (native/addon/addon.cc, start()). */
export interface StartSettings {
  /** Python threads for async calls: setPythonThreads(), else PY_OUTLIERS_THREADS, else 1. */
  readonly threads: number;
  /** The low-latency mode's window, µs; 0: off (PY_OUTLIERS_LOW_LATENCY_US). */
  readonly lowLatencyUs: number;
  /** Whether to raise glibc's malloc thresholds (PY_OUTLIERS_MALLOC_TUNING, not `0`). */
  readonly mallocTuning: boolean;
  /** How long Node's exit waits for Python's exit work, ms (PY_OUTLIERS_EXIT_TIMEOUT_MS). */
  readonly exitTimeoutMs: number;
}

/** The settings that choose the interpreter (src/interpreter.ts). */
export interface InterpreterSettings {
  /** PY_OUTLIERS_PYTHON: the interpreter to run as, if set. */
  readonly python: string | undefined;
  /** VIRTUAL_ENV: the active venv, if any. */
  readonly virtualEnv: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A whole number in [low, high] from `name`, else `fallback`; a start-up error if malformed. */
function wholeNumber(env: Env, name: string, low: number, high: number, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (
    !/^[+-]?\d+$/.test(text.trim()) ||
    !Number.isSafeInteger(value) ||
    value < low ||
    value > high
  ) {
    throw new PythonStartError(
      `py-outliers: ${name} must be a whole number from ${low} to ${high}, not '${text}'`,
    );
  }
  return value;
}

/**
 * The start settings of this process, from `env`. `requestedThreads` (setPythonThreads) wins
 * over PY_OUTLIERS_THREADS, which is still checked.
 * @throws PythonStartError naming the setting that is malformed.
 */
export function startSettings(env: Env, requestedThreads: number | undefined): StartSettings {
  if (env['PY_OUTLIERS_SPIN_US'] !== undefined) {
    // Its old name: say so once, rather than leave a service slower without a word.
    process.emitWarning(
      'PY_OUTLIERS_SPIN_US is no longer read; the low-latency mode is PY_OUTLIERS_LOW_LATENCY_US',
      { code: 'PY_OUTLIERS_SETTING_RENAMED' },
    );
  }
  const threads = wholeNumber(env, 'PY_OUTLIERS_THREADS', 1, MAX_PYTHON_THREADS, 1);
  return {
    threads: requestedThreads ?? threads,
    lowLatencyUs: lowLatencyUs(env),
    mallocTuning: env['PY_OUTLIERS_MALLOC_TUNING'] !== '0',
    exitTimeoutMs: wholeNumber(env, 'PY_OUTLIERS_EXIT_TIMEOUT_MS', 0, 2 ** 31 - 1, 5000),
  };
}

/**
 * PY_OUTLIERS_LOW_LATENCY_US from `env`, µs (0: off), before the one-CPU rule: in-process it
 * is a start setting; a ProcessPool reads it when it is made.
 * @throws PythonStartError if it is malformed.
 */
export function lowLatencyUs(env: Env): number {
  return wholeNumber(env, 'PY_OUTLIERS_LOW_LATENCY_US', 0, MAX_LOW_LATENCY_US, 0);
}

/** The interpreter settings, from `env`. */
export function interpreterSettings(env: Env = process.env): InterpreterSettings {
  return {
    python: env['PY_OUTLIERS_PYTHON'] || undefined,
    virtualEnv: env['VIRTUAL_ENV'] || undefined,
  };
}
