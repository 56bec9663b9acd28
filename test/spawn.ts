// Child processes for the tests, run without blocking the test worker. A test file runs in a
// vitest worker that must answer vitest's messages within 60 s: a synchronous spawn that takes
// longer (a source build under npm install, a long scenario under a sanitizer on a busy
// machine) makes vitest report "Timeout calling onTaskUpdate" and fail the run although every
// test passed. This module loads nothing of the library, so test/install/prebuilt.test.ts can use it
// where the package is not built in the checkout.
import { spawn } from 'node:child_process';

/** How a child process ended, and what it printed. */
export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `file` with `args` to its end and collects its output. Past `timeoutMs` the child gets
 * SIGTERM, as spawnSync's `timeout` does; `signal` then says so.
 */
export function spawnAsync(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; its stdout, or an error with its stderr. */
export async function spawnOutput(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const ran = await spawnAsync(file, args, options);
  if (ran.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${ran.stderr}`);
  return ran.stdout;
}
