/**
 * Starting python/grpc_server.py from Node: the gRPC baseline, as tests and the benchmark
 * run it, and a quick way for users to serve a detection function to {@link RemoteOutliers}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { interpreterToRun } from './interpreter.js';
import type { RemoteOptions } from './remote-call.js';

const PYTHON_DIR = path.resolve(__dirname, '..', 'python');

/** Options of {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** The module to serve. Default `'outliers'`. */
  readonly moduleName?: string;
  /** The function in it to serve. Default `'detect'`. */
  readonly funcName?: string;
  /** Directories prepended to the server's `sys.path`. */
  readonly paths?: readonly string[];
  /**
   * Address to listen on. Default `'127.0.0.1'` (loopback only); `'0.0.0.0'` or `'::'` for
   * every interface.
   */
  readonly host?: string;
  /** Port; default 0 (a free one, reported in `address`). */
  readonly port?: number;
  /**
   * Server processes sharing the port (`--workers`), each its own interpreter, so that
   * calls use every core. Default 1.
   */
  readonly workers?: number;
  /** Calls each process runs at once (`--threads`). Default 2. */
  readonly threads?: number;
  /**
   * The functions `PythonFunction` and `Outliers` objects with `{ remote }` may call, as
   * `'module:function'` (`'numpy:linalg.norm'`; `--export`), imported when the server starts.
   * Default: `moduleName:funcName`. A call of anything else is a RemoteError with grpcStatus 5
   * (NOT_FOUND).
   */
  readonly exports?: readonly string[];
  /**
   * Listen beyond loopback without TLS (`--insecure`), on a network you trust. Without it, a
   * `host` other than loopback needs {@link tlsCert}.
   */
  readonly insecure?: boolean;
  /**
   * A token every call must carry ({@link RemoteOptions.token}); passed to the server in its
   * environment (PY_OUTLIERS_SERVER_TOKEN), not on its command line.
   */
  readonly token?: string;
  /** A PEM certificate chain file: serve TLS (`--tls-cert`), with {@link tlsKey}. */
  readonly tlsCert?: string;
  /** The PEM private key file of {@link tlsCert} (`--tls-key`). */
  readonly tlsKey?: string;
  /**
   * The Python interpreter to run it with. Default: the one the in-process detector runs
   * (`$PY_OUTLIERS_PYTHON`, else the one a source build was built against ({@link buildInfo}),
   * or the one a prebuilt binary chose).
   */
  readonly python?: string;
  /** How long to wait for the server to listen, in ms. Default 30 000. */
  readonly startTimeoutMs?: number;
}

/**
 * A running server; `stop()` ends it (SIGTERM: calls in flight finish, up to 5 s) and waits
 * for it to exit.
 */
export interface GrpcServer extends AsyncDisposable {
  /** `host:port` to connect to (loopback if it listens on every interface). */
  readonly address: string;
  /** The server's process (with `workers` > 1, the one that supervises them). */
  readonly pid: number;
  /** Ends the server and waits for its process to exit. Idempotent. */
  stop(): Promise<void>;
  /** {@link GrpcServer.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Past the server's own grace period (5 s), and its workers' exit.
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Servers this process started and has not stopped. A server must not outlive the process
 * that started it: one 'exit' listener kills them all (one per server would set off Node's
 * MaxListenersExceededWarning past 10 servers).
 */
const running = new Set<ChildProcess>();
function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Where a client on this machine reaches a server listening on `host`. */
function localAddress(host: string, port: number): string {
  if (host === '0.0.0.0') return `127.0.0.1:${port}`;
  if (host === '::') return `[::1]:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Starts `python/grpc_server.py` and resolves once it listens. */
export async function startGrpcServer(options: GrpcServerOptions = {}): Promise<GrpcServer> {
  const host = options.host ?? '127.0.0.1';
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new TypeError('tlsCert and tlsKey go together');
  }
  const args = [
    path.join(PYTHON_DIR, 'grpc_server.py'),
    '--host',
    host,
    '--port',
    String(options.port ?? 0),
    '--workers',
    String(options.workers ?? 1),
    '--threads',
    String(options.threads ?? 2),
    '--module',
    options.moduleName ?? 'outliers',
    '--function',
    options.funcName ?? 'detect',
    ...(options.paths ?? []).flatMap((p) => ['--path', path.resolve(p)]),
    ...(options.tlsCert === undefined
      ? []
      : ['--tls-cert', path.resolve(options.tlsCert), '--tls-key', path.resolve(options.tlsKey!)]),
    ...(options.exports ?? []).flatMap((name) => ['--export', name]),
    ...(options.insecure === true ? ['--insecure'] : []),
  ];
  const env = { ...process.env };
  if (options.token !== undefined) env['PY_OUTLIERS_SERVER_TOKEN'] = options.token;
  // Chosen as the in-process Python is, without loading the addon or libpython.
  const child = spawn(options.python ?? interpreterToRun().file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  running.add(child);
  if (running.size === 1) process.on('exit', killRunning);
  const forget = (): void => {
    running.delete(child);
    if (running.size === 0) process.removeListener('exit', killRunning);
  };

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
    const stop = async (): Promise<void> => {
      forget();
      await stopChild(child);
    };
    return {
      address: localAddress(host, port),
      pid: child.pid!,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    forget();
    await stopChild(child);
    throw error;
  }
}
