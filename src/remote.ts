/**
 * RemoteOutliers: the same detector, served by python/grpc_server.py over gRPC.
 *
 * It is the way out of one process: the Python function on as many processes and machines as
 * needed, balanced by gRPC itself, with the interface of {@link Outliers} (async). It calls
 * what `Outliers` with `{ remote }` calls (src/remote-call.ts), the function the server was
 * started with, and tries a call again when its server is lost even mid-call (detect has no
 * side effects). Its `repeated double` encoding is the benchmark's baseline.
 */
// Types only: the packages themselves are loaded on first use (grpc-channel.ts).
import type * as grpc from '@grpc/grpc-js';

import { AbortError, ClosedError, PythonError, RemoteError, ResultError } from './errors.js';
import {
  checkSignal,
  onAbort,
  runCancellable,
  withCallSite,
  type CallOptions,
} from './cancellation.js';
import {
  channelSettings,
  deadlineOf,
  grpcPackages,
  metadataString,
  remoteError,
  type DetectClient,
  type RemoteTlsOptions,
} from './grpc-channel.js';
import type { AsyncDetector } from './outliers.js';
import type { PlacedDetector } from './place.js';
import { RemoteScheduler } from './remote-call.js';
import { checkValues } from './values.js';

export type { RemoteTlsOptions } from './grpc-channel.js';

/** Options of {@link RemoteOutliers}. */
export interface RemoteOutliersOptions {
  /** Deadline of each call, in milliseconds, connection and retries included. Default 30 000. */
  readonly deadlineMs?: number;
  /**
   * TLS to the servers (`grpc_server.py --tls-cert/--tls-key`). Default: plain TCP, for
   * loopback and trusted networks.
   */
  readonly tls?: RemoteTlsOptions;
  /** Channel credentials from `@grpc/grpc-js`, in place of `tls`. */
  readonly credentials?: grpc.ChannelCredentials;
  /**
   * HTTP/2 connections opened to each server address, used in turn. Default 4. A server started
   * with `--workers N` shares one port between N processes and the kernel gives each
   * connection to one of them, at random: several connections per worker reach them all.
   */
  readonly connections?: number;
  /**
   * The RPC: `'raw'` (default) is `{ remote }`'s (the Functions service: the Float64Array's own
   * bytes); `'repeated-double'` sends a protobuf `repeated double`, as a gRPC service is usually
   * first written (the benchmark's baseline row).
   */
  readonly encoding?: 'raw' | 'repeated-double';
  /** Further `@grpc/grpc-js` channel options; they override the ones set here. */
  readonly channelOptions?: grpc.ChannelOptions;
  /** A token every call carries, as {@link Remote} sends it (`--token-file` on the server). */
  readonly token?: string;
}

/**
 * A detection function served by `python/grpc_server.py`, on one or many servers.
 *
 * ```ts
 * const remote = new RemoteOutliers(['10.0.0.5:50051', '10.0.0.6:50051']);
 * const idx = await remote.detect(values);   // same result as new Outliers().detect(values)
 * remote.close();
 * ```
 */
export class RemoteOutliers implements AsyncDetector {
  readonly #target: string;
  readonly #deadlineMs: number;
  /** The raw encoding: `{ remote }`'s calls, of the server's own function. */
  readonly #functions: RemoteScheduler | undefined;
  readonly #detector: PlacedDetector | undefined;
  /** The `repeated double` encoding's clients. */
  #clients: DetectClient[] | undefined;
  #next = 0;
  #closed = false;

  /**
   * @param address - Where the servers are: one gRPC target (`host:port`,
   *   `dns:///name:port` for every address a name resolves to, `ipv4:a:p,b:p`, `unix:path`) or
   *   a list of `ip:port`. Calls are balanced round-robin over all of them, and a call that
   *   finds its server gone is retried on another. No connection is made until the first call.
   */
  constructor(address: string | readonly string[], options: RemoteOutliersOptions = {}) {
    const settings = channelSettings(address, options); // checks them too
    const encoding = options.encoding ?? 'raw';
    if (encoding !== 'raw' && encoding !== 'repeated-double') {
      throw new TypeError('options.encoding must be "raw" or "repeated-double"');
    }
    this.#target = settings.target;
    this.#deadlineMs = settings.deadlineMs;
    if (encoding === 'raw') {
      this.#functions = new RemoteScheduler(address, options);
      this.#detector = this.#functions.detectorNamed('', true);
    } else {
      const { Client } = grpcPackages();
      this.#clients = Array.from(
        { length: settings.connections },
        () => new Client(settings.target, settings.credentials, settings.channelOptions),
      );
    }
  }

  /**
   * Sends `values` to a server and returns the indices it found.
   *
   * @throws TypeError if `values` is not a Float64Array (a rejection).
   * @throws {@link PythonError} if the function raised on the server.
   * @throws {@link ResultError} if its result is not a valid list of indices.
   * @throws {@link RemoteError} if no server can be reached within the deadline, or one fails
   *   or breaks the protocol.
   * @throws {@link ClosedError} after {@link RemoteOutliers.close}.
   * @throws {@link AbortError} if `options.signal` aborts, already or during the call; the gRPC
   *   call is then cancelled (the server interrupts the function, as in-process).
   */
  async detect(values: Float64Array, options?: CallOptions): Promise<Int32Array> {
    try {
      const input = checkValues(values);
      const signal = checkSignal(options);
      if (this.#closed) throw new ClosedError('the RemoteOutliers client is closed');
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (input.length === 0) return new Int32Array(0); // as in-process: no call for no data
      const detector = this.#detector;
      if (detector !== undefined) {
        return await runCancellable(
          signal,
          (id, error) => this.#functions!.cancel(id, error),
          () => detector.detectAsync(input),
          () => detector.detectAsync(input, true),
        );
      }
      return await this.#repeatedDouble(input, signal);
    } catch (error) {
      throw withCallSite(this.#translate(error));
    }
  }

  /** The `repeated double` RPC, as a gRPC service is usually first written. */
  async #repeatedDouble(input: Float64Array, signal: AbortSignal | undefined): Promise<Int32Array> {
    const clients = this.#clients!;
    const client = clients[this.#next++ % clients.length]!;
    let listener: Disposable | undefined;
    try {
      return await new Promise<Int32Array>((resolve, reject) => {
        // protobufjs encodes `repeated double` from a plain array only: the conversion is
        // part of what this RPC costs, and is timed with it (docs/architecture.md, "The gRPC wire").
        const call = client.Detect(
          { values: Array.from(input) },
          { deadline: deadlineOf(this.#deadlineMs) },
          (error, reply) => (error ? reject(error) : resolve(Int32Array.from(reply!.indices))),
        );
        if (signal !== undefined) {
          listener = onAbort(signal, (error) => {
            reject(error);
            call.cancel();
          });
        }
      });
    } finally {
      listener?.[Symbol.dispose]();
    }
  }

  /** The Outliers service's errors, in its status and trailing metadata. */
  #translate(error: unknown): unknown {
    const serviceError = error as grpc.ServiceError;
    if (typeof serviceError?.code !== 'number' || error instanceof RemoteError) return error;
    switch (metadataString(serviceError, 'py-outliers-error')) {
      case 'python':
        return new PythonError(
          serviceError.details,
          metadataString(serviceError, 'py-outliers-type') ?? 'Exception',
          metadataString(serviceError, 'py-outliers-traceback-bin') ?? '',
        );
      case 'result':
        return new ResultError(serviceError.details);
      default:
        return remoteError(this.#target, this.#deadlineMs, serviceError);
    }
  }

  /** {@link RemoteOutliers.detect}, under the name {@link AsyncDetector} shares with `Outliers`. */
  detectAsync(values: Float64Array, options?: CallOptions): Promise<Int32Array> {
    return this.detect(values, options);
  }

  /** Closes the channels. Idempotent; calls after it reject with {@link ClosedError}. */
  close(): void {
    this.#closed = true;
    this.#functions?.close();
    for (const client of this.#clients ?? []) client.close();
    this.#clients = undefined;
  }

  /** {@link RemoteOutliers.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
