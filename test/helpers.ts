// Shared by the test files: data makers, the Python probe module, and a numpy oracle that
// runs in a separate python process (so the oracle shares nothing with the addon).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { buildInfo, Outliers, PythonError } from '../src/index.js';
import { type Ran, spawnAsync } from './spawn.js';

export const ROOT = path.resolve(__dirname, '..');
export const PROBE_DIR = path.join(__dirname, 'python');
/**
 * The Python interpreter the addon was built against (a venv's bin/python, a distribution's
 * python3.11...): every cell of the CI matrix runs this same suite against its own.
 */
export const BUILD_PYTHON = buildInfo().executable;

/** A detector on one of test/python/probe.py's functions. */
export function probe(funcName: string): Outliers {
  return new Outliers('probe', funcName, { paths: [PROBE_DIR] });
}

/** What a report_* probe raised, parsed. */
export function reportOf(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (error) {
    if (error instanceof PythonError && error.type === 'Report') {
      return JSON.parse(error.message) as Record<string, unknown>;
    }
    throw error;
  }
  throw new Error('the probe did not report');
}

/** Deterministic uniform values in [0, 1) (Park-Miller), so failures reproduce. */
export function uniform(length: number, seed = 1): Float64Array {
  const out = new Float64Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 16807) % 2147483647;
    out[i] = state / 2147483647;
  }
  return out;
}

/** The seed case: 1000 uniform values with +97 at 7, 113 and 835. */
export function seedCase(): Float64Array {
  const values = uniform(1000);
  for (const i of [7, 113, 835]) values[i]! += 97;
  return values;
}

/** The same detection computed by numpy in a separate python3 process. */
export function numpyOracle(values: Float64Array): number[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-oracle-'));
  try {
    const file = path.join(dir, 'values.f64');
    fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    const script =
      'import sys, json, numpy as np\n' +
      'd = np.fromfile(sys.argv[1], dtype="<f8")\n' +
      'print(json.dumps(np.where(np.abs(d - d.mean()) > 2 * d.std())[0].tolist()))\n';
    const run = spawnSync(BUILD_PYTHON, ['-c', script, file], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`oracle failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as number[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a Node script in a child process; resolves with its exit status, signal and output.
 * `prefix` is a command that runs node, such as `['nice', '-n', '3']`. Asynchronous, so that a
 * long scenario never blocks the test worker (test/spawn.ts says why that matters).
 */
export function runNode(
  script: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; args?: string[]; prefix?: string[] } = {},
): Promise<Ran> {
  const [command, ...args] = [
    ...(options.prefix ?? []),
    process.execPath,
    ...(options.args ?? []),
    '-e',
    script,
  ];
  return spawnAsync(command!, args, {
    cwd: ROOT,
    env: options.env ?? process.env,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** The built package, as a child process or Worker requires it. */
export const PACKAGE_ENTRY = path.join(ROOT, 'dist', 'index.js');

/**
 * How much larger the fuzz campaigns run than in `make test` (PY_OUTLIERS_FUZZ_SCALE: 1 there;
 * `make fuzz` sets 20).
 */
export const FUZZ_SCALE = Math.max(1, Math.floor(Number(process.env.PY_OUTLIERS_FUZZ_SCALE)) || 1);

/**
 * The seed of one property: fixed in `make test`, so a failure reproduces; PY_OUTLIERS_FUZZ_SEED
 * moves every property to another one (`make fuzz` draws it and prints it). `salt` tells the
 * properties apart.
 */
export function fuzzSeed(salt: number): number {
  const base = Number(process.env.PY_OUTLIERS_FUZZ_SEED ?? 20261205) || 20261205;
  return (base + salt) % 2 ** 31;
}

/** A self-signed certificate for localhost and 127.0.0.1 (openssl), in a new scratch folder. */
export function selfSignedCertificate(): { dir: string; key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' }); // prettier-ignore
  return { dir, key, cert };
}
