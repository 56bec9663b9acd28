/**
 * What the gRPC clients share (src/remote-call.ts, src/remote.ts): the packages, loaded on first
 * use, the protocol's clients (python/detect.proto), the channel settings, the targets, the TLS
 * credentials and the checks of their options. @internal
 */
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';

// Types only: the packages themselves are loaded on first use (grpcPackages below).
import type * as grpc from '@grpc/grpc-js';

import { RemoteError } from './errors.js';

const PROTO = path.resolve(__dirname, '..', 'python', 'detect.proto');

/** @internal */
export interface DetectReply {
  indices: number[];
}
/** @internal */
export type Callback<Reply> = (error: grpc.ServiceError | null, reply?: Reply) => void;
/** The Outliers service's client: its `repeated double` RPC (RemoteOutliers' baseline). @internal */
export type DetectClient = grpc.Client & {
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

/** A piece of a Functions call (python/detect.proto). @internal */
export interface Piece {
  header?: Buffer | Uint8Array;
  data?: Buffer | Uint8Array;
}
/** The Functions service's client (src/remote-call.ts). @internal */
export type FunctionsClient = grpc.Client & {
  Call(metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientDuplexStream<Piece, Piece>;
};
type FunctionsClientConstructor = new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => FunctionsClient;

/** @internal */
export interface GrpcPackages {
  readonly grpc: typeof grpc;
  readonly Client: DetectClientConstructor;
  readonly Functions: FunctionsClientConstructor;
}
let packages: GrpcPackages | undefined;

/**
 * `@grpc/grpc-js` and the client classes, loaded on the first remote object: loading them costs
 * ~100 ms of start-up, which users of the in-process detector alone never pay.
 */
export function grpcPackages(): GrpcPackages {
  if (packages === undefined) {
    const grpcJs = require('@grpc/grpc-js') as typeof grpc;
    const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
    const definition = protoLoader.loadSync(PROTO, {
      longs: Number, // int64 indices as numbers, not Long objects (docs/architecture.md, "The gRPC wire")
      defaults: true,
    });
    const loaded = grpcJs.loadPackageDefinition(definition) as unknown as {
      py_outliers: { Outliers: DetectClientConstructor; Functions: FunctionsClientConstructor };
    };
    packages = {
      grpc: grpcJs,
      Client: loaded.py_outliers.Outliers,
      Functions: loaded.py_outliers.Functions,
    };
  }
  return packages;
}

/** TLS settings of `Remote` and `RemoteOutliers` (their `tls` option), as PEM. */
export interface RemoteTlsOptions {
  /** Certificates to trust (a self-signed server's own). Default: the system's roots. */
  readonly ca?: Buffer;
  /** Client certificate chain, for servers that ask for one (mutual TLS), with {@link key}. */
  readonly cert?: Buffer;
  /** The private key of {@link cert}. */
  readonly key?: Buffer;
}

/** Largest message either side accepts: 10M float64 values are 80 MB on the wire. */
const MAX_MESSAGE_BYTES = 1 << 30;
const SERVICE = 'py_outliers.Outliers';

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

/** Channel options, before the user's own. @internal */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
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

/**
 * The gRPC target for `address`: a target as is, or a list as grpc-js's `ipv4:`/`ipv6:`.
 * @internal
 */
export function targetOf(address: string | readonly string[]): string {
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

/** @internal */
export function metadataString(error: grpc.ServiceError, key: string): string | undefined {
  const value = error.metadata?.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** What a client's options give its channels, checked. */
export interface ChannelSettings {
  readonly target: string;
  readonly deadlineMs: number;
  readonly connections: number;
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
}

/** The options both remote clients take. */
export interface ChannelOptionsIn {
  readonly deadlineMs?: number;
  readonly tls?: RemoteTlsOptions;
  readonly credentials?: grpc.ChannelCredentials;
  readonly connections?: number;
  readonly channelOptions?: grpc.ChannelOptions;
}

/**
 * Checks a client's address and options: TypeErrors name the option. `deadlineMs` may be
 * `Infinity` (no deadline).
 */
export function channelSettings(
  address: string | readonly string[],
  options: ChannelOptionsIn,
): ChannelSettings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object');
  }
  const target = targetOf(address);
  const deadlineMs = options.deadlineMs ?? 30_000;
  if (typeof deadlineMs !== 'number' || !(deadlineMs > 0)) {
    throw new TypeError('options.deadlineMs must be a positive number (or Infinity)');
  }
  const connections = options.connections ?? 4;
  if (!Number.isInteger(connections) || connections < 1 || connections > 64) {
    throw new TypeError('options.connections must be a whole number from 1 to 64');
  }
  if (options.tls !== undefined && options.credentials !== undefined) {
    throw new TypeError('options.tls and options.credentials cannot both be set');
  }
  const { grpc } = grpcPackages();
  const { tls } = options;
  const credentials =
    options.credentials ??
    (tls === undefined
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null));
  const channelOptions = { ...CHANNEL_OPTIONS, ...options.channelOptions };
  return { target, deadlineMs, connections, credentials, channelOptions };
}

/** A call's deadline for grpc-js: none for `Infinity`. */
export function deadlineOf(deadlineMs: number): number {
  return Number.isFinite(deadlineMs) ? Date.now() + deadlineMs : Infinity;
}

/** A call's failing status as a RemoteError that says what happened, naming the servers. */
export function remoteError(
  target: string,
  deadlineMs: number,
  error: { readonly code: number; readonly details: string },
): RemoteError {
  const { status } = grpcPackages().grpc;
  const what =
    error.code === status.DEADLINE_EXCEEDED
      ? `no answer within ${deadlineMs} ms`
      : error.code === status.UNAVAILABLE
        ? 'cannot reach the server'
        : `call failed (${status[error.code] ?? error.code})`;
  return new RemoteError(`py-outliers server at ${target}: ${what}: ${error.details}`, error.code);
}
