/**
 * Remote: the calls of a `PythonFunction` or an `Outliers` on py-outliers servers
 * (python/grpc_server.py, its Functions service), with the values, errors and cancellation of
 * in-process (docs/scaling-out.md). A call is one gRPC stream each way: a header in the worker
 * processes' MessagePack format (src/pool-wire.ts), then the bytes of the arrays too large for
 * it, array after array, in pieces of 1 MiB: never element by element.
 */
import type * as grpc from '@grpc/grpc-js';

import { ClosedError, RemoteError } from './errors.js';
import { asyncOnlyDetector, asyncOnlyFunction } from './async-only.js';
import type { CallPlace, PlacedDetector, PlacedFunction } from './place.js';
import {
  encodeMessage,
  encodeValues,
  HAS_FLOAT16,
  INLINE_MESSAGE_BYTES,
  INT64_MODES,
  messageDecoder,
  placeArguments,
  readArguments,
  settleReply,
  type ArrayPlacer,
  type Placement,
  type ReadArguments,
} from './pool-wire.js';
import {
  channelSettings,
  deadlineOf,
  grpcPackages,
  remoteError,
  type FunctionsClient,
  type Piece,
  type RemoteTlsOptions,
} from './grpc-channel.js';
import type { TypedArray } from './values.js';

/** Options of {@link Remote}. */
export interface RemoteOptions {
  /**
   * Deadline of each call, in milliseconds, connection included. Default 30 000; `Infinity`
   * for none (an `AbortSignal` still ends a call).
   */
  readonly deadlineMs?: number;
  /** TLS to the servers (`grpc_server.py --tls-cert/--tls-key`). Default: plain TCP. */
  readonly tls?: RemoteTlsOptions;
  /** Channel credentials from `@grpc/grpc-js`, in place of `tls`. */
  readonly credentials?: grpc.ChannelCredentials;
  /**
   * A token every call carries (`Authorization: Bearer <token>`), for a server started with
   * `--token-file` or `PY_OUTLIERS_SERVER_TOKEN`. Send it over TLS beyond loopback.
   */
  readonly token?: string;
  /**
   * HTTP/2 connections opened to each server address, used in turn. Default 4. A server with
   * `--workers N` shares one port between N processes and the kernel gives each connection to
   * one of them: several connections per process reach them all.
   */
  readonly connections?: number;
  /** Further `@grpc/grpc-js` channel options; they override the ones set here. */
  readonly channelOptions?: grpc.ChannelOptions;
}

/** The contracts, as python/py_outliers_worker.py numbers them (DETECT is 1). */
const FUNCTION_CONTRACT = 0;
const DETECT_CONTRACT = 1;
/** The pieces of a call's arrays (python/detect.proto). */
const PIECE_BYTES = 1 << 20;

let lastId = 0;
/** Why a remote call cannot be sync, for the TypeError of `call` and `detect`. */
const REMOTE_WHY = 'on a remote server (a call waits for the network)';

/** A call's large arrays, queued to follow its header (an ArrayPlacer for pool-wire). */
class SentApart implements ArrayPlacer {
  readonly arrays: TypedArray[] = [];
  readonly inlineBytes = INLINE_MESSAGE_BYTES;

  sharedRegionOf(): Placement | undefined {
    return undefined;
  }

  copyIn(array: TypedArray): Placement {
    this.arrays.push(array);
    return array.byteLength;
  }
}

/** A reply's arrays: its data pieces, each array in pieces of its own, copied out once. */
class ReplyData {
  readonly #pieces: Uint8Array[];
  #next = 0;

  constructor(pieces: Uint8Array[]) {
    this.#pieces = pieces;
  }

  take(bytes: number): ArrayBuffer {
    const out = new Uint8Array(bytes);
    let at = 0;
    while (at < bytes && this.#next < this.#pieces.length) {
      const piece = this.#pieces[this.#next++]!;
      if (at + piece.length > bytes) break;
      out.set(piece, at);
      at += piece.length;
    }
    if (at !== bytes) throw new Error(`the server sent ${at} bytes of an array of ${bytes}`);
    return out.buffer;
  }
}

interface RemoteCall {
  /** The stream of its current attempt. */
  stream: grpc.ClientDuplexStream<Piece, Piece>;
  readonly reject: (error: unknown) => void;
}

/**
 * Attempts of one call. Another attempt is made only where the call cannot have run: the
 * server says so before it runs a function (the `py-outliers-started` header), and a call that
 * loses its server before that header is tried again on the next connection.
 */
const MAX_ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 50;
const STARTED = 'py-outliers-started';
/** Sent with a call of an idempotent function: the server then sends no STARTED header. */
const IDEMPOTENT = 'py-outliers-idempotent';
/**
 * What a connection's end gives a call (UNAVAILABLE, or INTERNAL for a stream reset under it):
 * tried again if the function had not started. Any other status is the server's answer.
 */
const RETRYABLE = new Set([13, 14]);
/**
 * Sent with every call: a server may then put a small reply with no array data in the
 * trailing metadata (this key + `-bin`) instead of a message, one batch fewer for grpcio
 * (python/grpc_server.py, REPLY_IN_TRAILER).
 */
const REPLY_IN_TRAILER = 'py-outliers-reply-in-trailer';

/** The calls of one Remote: its channels, and the calls in flight by id. @internal */
export class RemoteScheduler implements CallPlace {
  readonly #target: string;
  readonly #deadlineMs: number;
  readonly #token: string | undefined;
  readonly #calls = new Map<number, RemoteCall>();
  #clients: FunctionsClient[] | undefined;
  #next = 0;
  #decoder: ReturnType<typeof messageDecoder> | undefined;
  /** The reply being decoded: where its arrays come from. */
  #reply: ReplyData | undefined;

  constructor(address: string | readonly string[], options: RemoteOptions) {
    const settings = channelSettings(address, options); // checks them too
    if (
      options.token !== undefined &&
      (typeof options.token !== 'string' || options.token === '')
    ) {
      throw new TypeError('options.token must be a non-empty string');
    }
    this.#target = settings.target;
    this.#deadlineMs = settings.deadlineMs;
    this.#token = options.token;
    const { Functions } = grpcPackages();
    this.#clients = Array.from(
      { length: settings.connections },
      () => new Functions(settings.target, settings.credentials, settings.channelOptions),
    );
  }

  get closed(): boolean {
    return this.#clients === undefined;
  }

  openDetector(moduleName: string, funcName: string, paths: string[]): PlacedDetector {
    return this.detectorNamed(this.#name(moduleName, funcName, paths), false);
  }

  /**
   * A detector of `name` ('' for the one the server was started with, `--module/--function`,
   * as RemoteOutliers calls it). `idempotent`: a call that loses its server is tried again
   * even if it may have run there (detect has no side effects).
   */
  detectorNamed(name: string, idempotent: boolean): PlacedDetector {
    return asyncOnlyDetector(REMOTE_WHY, (values) =>
      this.#start(name, values, 0, DETECT_CONTRACT, idempotent),
    );
  }

  openFunction(
    moduleName: string,
    funcName: string,
    paths: string[],
    idempotent = false,
  ): PlacedFunction {
    const name = this.#name(moduleName, funcName, paths);
    return asyncOnlyFunction(REMOTE_WHY, (args, kwargs, int64) =>
      this.#start(name, readArguments(args, kwargs), int64, FUNCTION_CONTRACT, idempotent),
    );
  }

  int64Modes(): Readonly<Record<'bigint' | 'int32' | 'float64', number>> {
    return INT64_MODES;
  }

  cancel(id: number, error: Error): boolean {
    const call = this.#calls.get(id);
    if (call === undefined) return false;
    this.#calls.delete(id);
    call.reject(error);
    call.stream.cancel(); // the server raises CallAborted into the call, as in-process
    return true;
  }

  close(): void {
    for (const client of this.#clients ?? []) client.close();
    this.#clients = undefined;
  }

  /** The name a server exports a function by: `module:function`. */
  #name(moduleName: string, funcName: string, paths: string[]): string {
    if (paths.length > 0) {
      throw new TypeError(
        "options.paths is this process's sys.path: a server has its own (grpc_server.py --path)",
      );
    }
    return `${moduleName}:${funcName}`;
  }

  #start(
    name: string,
    args: ReadArguments | Float64Array,
    int64: number,
    contract: number,
    idempotent: boolean,
  ): [Promise<unknown>, number] {
    if (this.#clients === undefined) throw new ClosedError('the Remote is closed');
    const apart = new SentApart();
    let positional: unknown[];
    let keywords: Record<string, unknown>;
    if (args instanceof Float64Array) {
      positional = [encodeValues(args, apart)];
      keywords = {};
    } else {
      placeArguments(args, apart);
      ({ positional, keywords } = args);
    }
    const header = encodeMessage([name, positional, keywords, int64, contract, HAS_FLOAT16]);
    const { grpc } = grpcPackages();
    const metadata = new grpc.Metadata();
    metadata.set(REPLY_IN_TRAILER, '1');
    // Tried again whether it started or not: the server need not say when it starts.
    if (idempotent) metadata.set(IDEMPOTENT, '1');
    if (this.#token !== undefined) metadata.set('authorization', `Bearer ${this.#token}`);
    const deadline = deadlineOf(this.#deadlineMs);
    const id = ++lastId;
    const promise = new Promise<unknown>((resolve, reject) => {
      const attempt = (n: number): void => {
        const clients = this.#clients;
        if (clients === undefined) {
          this.#calls.delete(id);
          reject(new ClosedError('the Remote is closed'));
          return;
        }
        const stream = clients[this.#next++ % clients.length]!.Call(metadata, { deadline });
        const call = this.#calls.get(id);
        if (call === undefined) this.#calls.set(id, { stream, reject });
        else call.stream = stream;
        let started = false;
        let replyHeader: Uint8Array | undefined;
        const data: Uint8Array[] = [];
        stream.on('metadata', (received: grpc.Metadata) => {
          if (received.get(STARTED).length > 0) started = true;
        });
        stream.on('data', (piece: Piece) => {
          if (piece.header !== undefined && piece.header.length > 0) replyHeader = piece.header;
          if (piece.data !== undefined && piece.data.length > 0) data.push(piece.data);
        });
        // The call ends with its status, after every piece of its reply ('end' may come first,
        // and with no reply at all when the connection dropped).
        stream.on('error', () => {});
        stream.on('status', (status: grpc.StatusObject) => {
          if (this.#calls.get(id)?.stream !== stream) return; // cancelled, or retried
          if (status.code === grpc.status.OK) {
            this.#calls.delete(id);
            const trailer = status.metadata.get(`${REPLY_IN_TRAILER}-bin`)[0];
            if (replyHeader === undefined && trailer instanceof Buffer) replyHeader = trailer;
            this.#settle(replyHeader, data, resolve, reject);
            return;
          }
          const wait = FIRST_BACKOFF_MS * 2 ** (n - 1);
          if (
            RETRYABLE.has(status.code) &&
            (!started || idempotent) &&
            n < MAX_ATTEMPTS &&
            Date.now() + wait < deadline
          ) {
            setTimeout(() => {
              if (this.#calls.has(id)) attempt(n + 1);
            }, wait);
            return;
          }
          this.#calls.delete(id);
          reject(remoteError(this.#target, this.#deadlineMs, status));
        });
        try {
          stream.write({ header });
          for (const array of apart.arrays) {
            const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
            for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
              stream.write({ data: bytes.subarray(at, at + PIECE_BYTES) });
            }
          }
          stream.end();
        } catch (error) {
          // An array detached before a second attempt: this call fails, nothing else does.
          this.#calls.delete(id);
          stream.cancel();
          reject(error);
        }
      };
      attempt(1);
    });
    return [promise, id];
  }

  /** A reply: its header decoded, its arrays taken from its data. */
  #settle(
    header: Uint8Array | undefined,
    data: Uint8Array[],
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ): void {
    try {
      if (header === undefined) throw new Error('no reply');
      // One decoder for all replies (making one costs ~18 µs); decoding is synchronous, so the
      // reply whose arrays it takes is set just before.
      this.#decoder ??= messageDecoder(
        () => {
          throw new Error('a server names no files');
        },
        (bytes) => this.#reply!.take(bytes),
      );
      this.#reply = new ReplyData(data);
      let decoded: [number, unknown];
      try {
        decoded = this.#decoder.decode(header) as [number, unknown];
      } finally {
        this.#reply = undefined;
      }
      settleReply(decoded[0], decoded[1], resolve, reject);
    } catch (error) {
      reject(
        new RemoteError(
          `py-outliers server at ${this.#target} broke the protocol: ${(error as Error).message}`,
          grpcPackages().grpc.status.INTERNAL,
        ),
      );
    }
  }
}

const schedulers = new WeakMap<Remote, RemoteScheduler>();

/**
 * py-outliers servers (`python/grpc_server.py`, {@link startGrpcServer}) that `PythonFunction`
 * and `Outliers` objects call with `{ remote }`: their connections, shared by the objects made
 * with it.
 *
 * ```ts
 * using servers = new Remote('dns:///py-outliers.default.svc.cluster.local:50051', { token });
 * const norm = new PythonFunction('numpy', 'linalg.norm', { remote: servers });
 * const n = await norm.callAsync([new Float32Array([3, 4])]);   // 5
 * ```
 *
 * Only the functions a server exports (`--export module:function`) can be called; any other
 * rejects with a {@link RemoteError} whose `grpcStatus` is 5 (NOT_FOUND).
 */
export class Remote implements Disposable {
  /**
   * @param address - Where the servers are: one gRPC target (`host:port`, `dns:///name:port`
   *   for every address a name resolves to, `ipv4:a:p,b:p`) or a list of `ip:port`. Calls are
   *   balanced round-robin over all of them. No connection is made until the first call.
   */
  constructor(address: string | readonly string[], options: RemoteOptions = {}) {
    schedulers.set(this, new RemoteScheduler(address, options));
  }

  /** Whether {@link Remote.close} was called. */
  get closed(): boolean {
    return schedulerOf(this).closed;
  }

  /** Closes the connections; calls of its objects then reject with {@link ClosedError}. */
  close(): void {
    schedulerOf(this).close();
  }

  /** {@link Remote.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function schedulerOf(remote: Remote): RemoteScheduler {
  const scheduler = schedulers.get(remote);
  if (scheduler === undefined) throw new TypeError('options.remote must be a Remote or an address');
  return scheduler;
}

/**
 * The place of an object made with `{ remote }`: a Remote's, or, for an address, a Remote of
 * its own, closed with the object (`owned`). @internal
 */
export function remotePlaceOf(
  remote: unknown,
  options: RemoteOptions = {},
): { place: CallPlace; owned?: Remote } {
  if (remote instanceof Remote) {
    const scheduler = schedulerOf(remote);
    if (scheduler.closed) throw new ClosedError('the Remote is closed');
    return { place: scheduler };
  }
  if (typeof remote === 'string' || Array.isArray(remote)) {
    const owned = new Remote(remote as string | readonly string[], options);
    return { place: schedulerOf(owned), owned };
  }
  throw new TypeError('options.remote must be a Remote, a gRPC target or a list of ip:port');
}
