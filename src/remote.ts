/**
 * RemoteOutliers: the same detector, served by python/grpc_server.py over gRPC.
 *
 * It is the way out of one process: the Python function on as many processes and machines as
 * needed, balanced by gRPC itself, with the interface of {@link Outliers} (async). It is also
 * the baseline the benchmark compares the in-process addon with.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import path from 'node:path';

// Types only: the packages themselves are loaded on first use (grpcPackages below).
import type * as grpc from '@grpc/grpc-js';

import { AbortError, ClosedError, PythonError, RemoteError, ResultError } from './errors.js';
import { checkSignal, onAbort, withCallSite, type CallOptions } from './cancellation.js';
import type { AsyncDetector } from './outliers.js';
import { checkValues } from './values.js';

const PROTO = path.resolve(__dirname, '..', 'python', 'detect.proto');

interface RawDetectReply {
  indices: Buffer;
}
interface DetectReply {
  indices: number[];
}
type Callback<Reply> = (error: grpc.ServiceError | null, reply?: Reply) => void;
type DetectClient = grpc.Client & {
  DetectRaw(
    options: grpc.CallOptions,
    callback: Callback<RawDetectReply>,
  ): grpc.ClientWritableStream<{ values: Buffer }>;
  Detect(
    request: { values: number[] },
    options: grpc.CallOptions,
    callback: Callback<DetectReply>,
  ): grpc.ClientUnaryCall;
};
type DetectClientConstructor = new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => DetectClient;

interface GrpcPackages {
  readonly grpc: typeof grpc;
  readonly Client: DetectClientConstructor;
}
let packages: GrpcPackages | undefined;

/**
 * `@grpc/grpc-js` and the client class, loaded on the first RemoteOutliers: loading them costs
 * ~100 ms of start-up, which users of the in-process detector alone never pay.
 */
function grpcPackages(): GrpcPackages {
  if (packages === undefined) {
    const grpcJs = require('@grpc/grpc-js') as typeof grpc;
    const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
    const definition = protoLoader.loadSync(PROTO, {
      longs: Number, // int64 indices as numbers, not Long objects (docs/architecture.md, "The gRPC wire")
      defaults: true,
    });
    const loaded = grpcJs.loadPackageDefinition(definition) as unknown as {
      py_outliers: { Outliers: DetectClientConstructor };
    };
    packages = { grpc: grpcJs, Client: loaded.py_outliers.Outliers };
  }
  return packages;
}

/** TLS settings of {@link RemoteOutliersOptions.tls}, as PEM. */
export interface RemoteTlsOptions {
  /** Certificates to trust (a self-signed server's own). Default: the system's roots. */
  readonly ca?: Buffer;
  /** Client certificate chain, for servers that ask for one (mutual TLS), with {@link key}. */
  readonly cert?: Buffer;
  /** The private key of {@link cert}. */
  readonly key?: Buffer;
}

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
   * The RPC: `'raw'` (default) sends the Float64Array's bytes; `'repeated-double'` sends a
   * protobuf `repeated double`, as a gRPC service is usually first written (the benchmark's
   * baseline row).
   */
  readonly encoding?: 'raw' | 'repeated-double';
  /** Further `@grpc/grpc-js` channel options; they override the ones set here. */
  readonly channelOptions?: grpc.ChannelOptions;
}

/** Largest message either side accepts: 10M float64 values are 80 MB on the wire. */
const MAX_MESSAGE_BYTES = 1 << 30;
const SERVICE = 'py_outliers.Outliers';
/**
 * The values go in pieces of 1 MiB (python/detect.proto): measured on loopback, 80 MB took
 * half the time as a stream than as one message, and the stream was no slower at 1k values.
 */
const PIECE_BYTES = 1 << 20;

/**
 * The service config: `round_robin` over every address the target resolves to, and a call
 * that meets UNAVAILABLE (a backend gone, before it answered) tried again on another one:
 * `detect` has no side effects, so a retry is safe. Both are grpc-js's own.
 */
const SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{ round_robin: {} }],
  methodConfig: [
    {
      name: [{ service: SERVICE }],
      retryPolicy: {
        maxAttempts: 5,
        initialBackoff: '0.05s',
        maxBackoff: '1s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
});

/** Channel options, before the user's own. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.service_config': SERVICE_CONFIG,
  // grpc-js retries only calls whose request it still holds, 256 KiB by default: a 1M-value
  // call is 8 MB. It holds the serialized message it sent anyway until the call commits.
  'grpc.per_rpc_retry_buffer_size': MAX_MESSAGE_BYTES,
  'grpc.retry_buffer_size': MAX_MESSAGE_BYTES,
  // A backend that comes back is tried within 5 s, not after up to 120 s (grpc-js's default).
  'grpc.max_reconnect_backoff_ms': 5000,
  // Each channel its own connections: channels with equal options would share them.
  'grpc.use_local_subchannel_pool': 1,
};

/** `ip:port` (IPv6 in brackets) with the IP's family, or undefined if it is not one. */
function ipAddress(address: string): { family: 4 | 6; address: string } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (match === null) return undefined;
  const host = match[1] ?? match[2]!;
  if (match[1] === undefined && isIPv4(host)) return { family: 4, address };
  if (match[1] !== undefined && isIPv6(host)) return { family: 6, address };
  return undefined;
}

/** The gRPC target for `address`: a target as is, or a list as grpc-js's `ipv4:`/`ipv6:`. */
function targetOf(address: string | readonly string[]): string {
  if (typeof address === 'string') {
    if (address === '') throw new TypeError('address must not be empty');
    return address;
  }
  if (!Array.isArray(address) || address.length === 0) {
    throw new TypeError(
      'address must be a gRPC target such as "127.0.0.1:50051" or "dns:///backends:50051", ' +
        'or a non-empty array of "ip:port" strings',
    );
  }
  if (address.length === 1) return targetOf(address[0] as string);
  const parsed = address.map((entry: unknown) => {
    const ip = typeof entry === 'string' ? ipAddress(entry) : undefined;
    if (ip === undefined) {
      throw new TypeError(
        `a list of addresses must hold "ip:port" strings ("[ip6]:port" for IPv6), got ` +
          `${JSON.stringify(entry)}; for host names use one DNS name that resolves to every ` +
          'backend, such as "dns:///backends.internal:50051" (a Kubernetes headless Service)',
      );
    }
    return ip;
  });
  const family = parsed[0]!.family;
  if (parsed.some((ip) => ip.family !== family)) {
    throw new TypeError('a list of addresses must be all IPv4 or all IPv6');
  }
  return `ipv${family}:${parsed.map((ip) => ip.address).join(',')}`;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** The values as little-endian float64 bytes: a view of their own memory on this host. */
function valueBytes(values: Float64Array): Buffer {
  const view = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return LITTLE_ENDIAN ? view : Buffer.from(view).swap64();
}

/**
 * Little-endian int32 values, copied into an Int32Array of their own: a received Buffer may
 * sit at any offset of a larger one, so it cannot always be viewed in place.
 * @throws RangeError if the length is not a multiple of 4.
 * @internal
 */
export function int32FromLittleEndian(bytes: Uint8Array): Int32Array {
  if (bytes.length % 4 !== 0) {
    throw new RangeError(
      `${bytes.length} bytes of indices is not a whole number of int32 values (a multiple of 4)`,
    );
  }
  const values = new Int32Array(bytes.length / 4);
  const target = Buffer.from(values.buffer);
  target.set(bytes);
  if (!LITTLE_ENDIAN) target.swap32();
  return values;
}

function metadataString(error: grpc.ServiceError, key: string): string | undefined {
  const value = error.metadata?.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
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
  readonly #raw: boolean;
  #clients: DetectClient[] | undefined;
  #next = 0;

  /**
   * @param address - Where the servers are: one gRPC target (`host:port`,
   *   `dns:///name:port` for every address a name resolves to, `ipv4:a:p,b:p`, `unix:path`) or
   *   a list of `ip:port`. Calls are balanced round-robin over all of them, and a call that
   *   finds its server gone is retried on another. No connection is made until the first call.
   */
  constructor(address: string | readonly string[], options: RemoteOutliersOptions = {}) {
    const target = targetOf(address); // checks it too
    const deadlineMs = options.deadlineMs ?? 30_000;
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new TypeError('options.deadlineMs must be a positive number');
    }
    const connections = options.connections ?? 4;
    if (!Number.isInteger(connections) || connections < 1 || connections > 64) {
      throw new TypeError('options.connections must be a whole number from 1 to 64');
    }
    const encoding = options.encoding ?? 'raw';
    if (encoding !== 'raw' && encoding !== 'repeated-double') {
      throw new TypeError('options.encoding must be "raw" or "repeated-double"');
    }
    if (options.tls !== undefined && options.credentials !== undefined) {
      throw new TypeError('options.tls and options.credentials cannot both be set');
    }
    this.#target = target;
    this.#deadlineMs = deadlineMs;
    this.#raw = encoding === 'raw';

    const { grpc, Client } = grpcPackages();
    const { tls } = options;
    const credentials =
      options.credentials ??
      (tls === undefined
        ? grpc.credentials.createInsecure()
        : grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null));
    const channelOptions = { ...CHANNEL_OPTIONS, ...options.channelOptions };
    this.#clients = Array.from(
      { length: connections },
      () => new Client(target, credentials, channelOptions),
    );
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
   *   call is then cancelled (the server sees it cancelled).
   */
  async detect(values: Float64Array, options?: CallOptions): Promise<Int32Array> {
    try {
      const input = checkValues(values);
      const signal = checkSignal(options);
      const clients = this.#clients;
      if (clients === undefined) throw new ClosedError('the RemoteOutliers client is closed');
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (input.length === 0) return new Int32Array(0); // as in-process: no call for no data
      const client = clients[this.#next++ % clients.length]!;
      let listener: Disposable | undefined;
      try {
        return await new Promise<Int32Array>((resolve, reject) => {
          const callOptions = { deadline: Date.now() + this.#deadlineMs };
          let call: grpc.Call;
          if (this.#raw) {
            const stream = client.DetectRaw(callOptions, (error, reply) => {
              if (error) return reject(error);
              try {
                resolve(this.#indices(reply!.indices));
              } catch (badReply) {
                reject(badReply); // thrown in gRPC's callback it would be uncaught
              }
            });
            const bytes = valueBytes(input);
            for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
              stream.write({ values: bytes.subarray(at, at + PIECE_BYTES) });
            }
            stream.end();
            call = stream;
          } else {
            // protobufjs encodes `repeated double` from a plain array only: the conversion is
            // part of what this RPC costs, and is timed with it (docs/architecture.md, "The gRPC wire").
            call = client.Detect({ values: Array.from(input) }, callOptions, (error, reply) =>
              error ? reject(error) : resolve(Int32Array.from(reply!.indices)),
            );
          }
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
    } catch (error) {
      throw withCallSite(this.#translate(error));
    }
  }

  #indices(bytes: Buffer): Int32Array {
    try {
      return int32FromLittleEndian(bytes);
    } catch (error) {
      throw new RemoteError(
        `py-outliers server at ${this.#target} broke the protocol: ${(error as Error).message}`,
        grpcPackages().grpc.status.INTERNAL,
      );
    }
  }

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
      default: {
        const { status } = grpcPackages().grpc;
        const what =
          serviceError.code === status.DEADLINE_EXCEEDED
            ? `no answer within ${this.#deadlineMs} ms`
            : serviceError.code === status.UNAVAILABLE
              ? 'cannot reach the server'
              : `call failed (${status[serviceError.code] ?? serviceError.code})`;
        return new RemoteError(
          `py-outliers server at ${this.#target}: ${what}: ${serviceError.details}`,
          serviceError.code,
        );
      }
    }
  }

  /** {@link RemoteOutliers.detect}, under the name {@link AsyncDetector} shares with `Outliers`. */
  detectAsync(values: Float64Array, options?: CallOptions): Promise<Int32Array> {
    return this.detect(values, options);
  }

  /** Closes the channels. Idempotent; calls after it reject with {@link ClosedError}. */
  close(): void {
    for (const client of this.#clients ?? []) client.close();
    this.#clients = undefined;
  }

  /** {@link RemoteOutliers.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
