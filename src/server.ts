/**
 * Starting python/grpc_server.py from Node: the gRPC baseline, as tests and the benchmark
 * run it, and a quick way for users to serve a detection function to {@link RemoteOutliers}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { loadAddon } from './native.js';

const PYTHON_DIR = path.resolve(__dirname, '..', 'python');

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** Module and function to serve. Default `'outliers'` / `'detect'`. */
  readonly moduleName?: string;
  readonly funcName?: string;
  /** Directories prepended to the server's `sys.path`. */
  readonly paths?: readonly string[];
  /** Port on 127.0.0.1; default 0 (a free one, reported in `address`). */
  readonly port?: number;
  /**
   * The Python interpreter to run it with. Default: `$PY_OUTLIERS_PYTHON`, else the one the
   * addon was built against ({@link buildInfo}), as the in-process detector does.
   */
  readonly python?: string;
  /** How long to wait for the server to listen, in ms. Default 30 000. */
  readonly startTimeoutMs?: number;
}

/** A running server; `stop()` ends it (by its PID) and waits for it to exit. */
export interface GrpcServer {
  readonly address: string;
  readonly pid: number;
  stop(): Promise<void>;
}

function choosePython(): string {
  const fromEnv = process.env['PY_OUTLIERS_PYTHON'];
  return fromEnv ? fromEnv : loadAddon().buildInfo.executable;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `python/grpc_server.py` on loopback and resolves once it listens. */
export async function startGrpcServer(options: GrpcServerOptions = {}): Promise<GrpcServer> {
  const args = [
    path.join(PYTHON_DIR, 'grpc_server.py'),
    '--port',
    String(options.port ?? 0),
    '--module',
    options.moduleName ?? 'outliers',
    '--function',
    options.funcName ?? 'detect',
    ...(options.paths ?? []).flatMap((p) => ['--path', path.resolve(p)]),
  ];
  const child = spawn(options.python ?? choosePython(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // A server must not outlive the process that started it.
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the gRPC server did not start in time')),
        options.startTimeoutMs ?? 30_000,
      );
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`the gRPC server exited with code ${code} before listening:\n${stderr}`)),
      );
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = /^LISTENING (\d+)$/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });
    return {
      address: `127.0.0.1:${port}`,
      pid: child.pid!,
      stop: async () => {
        process.removeListener('exit', onExit);
        await stopChild(child);
      },
    };
  } catch (error) {
    process.removeListener('exit', onExit);
    await stopChild(child);
    throw error;
  }
}
