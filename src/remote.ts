/**
 * RemoteOutliers: the same detector, served by python/grpc_server.py over gRPC.
 *
 * It is the baseline that the benchmark compares the in-process addon with, and the way to
 * run the Python side on other machines: the same interface as {@link Outliers}, async.
 */
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import { AbortError, ClosedError, PythonError, RemoteError, ResultError } from './errors.js';
import { checkSignal, onAbort, type CallOptions } from './signal.js';
import { checkValues, withCallSite } from './values.js';

const PROTO = path.resolve(__dirname, '..', 'python', 'detect.proto');

interface DetectReply {
  indices: number[];
}
type DetectClient = grpc.Client & {
  Detect(
    request: { values: number[] },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: DetectReply) => void,
  ): grpc.ClientUnaryCall;
};
type DetectClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => DetectClient;

let clientConstructor: DetectClientConstructor | undefined;

function loadClientConstructor(): DetectClientConstructor {
  if (clientConstructor === undefined) {
    const definition = protoLoader.loadSync(PROTO, {
      longs: Number, // int64 indices as numbers, not Long objects (NOTES.md item 22)
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      py_outliers: { Outliers: DetectClientConstructor };
    };
    clientConstructor = loaded.py_outliers.Outliers;
  }
  return clientConstructor;
}

/** Options of {@link RemoteOutliers}. */
export interface RemoteOutliersOptions {
  /** Deadline of each call, in milliseconds, connection included. Default 30 000. */
  readonly deadlineMs?: number;
  /** Channel credentials. Default: insecure (plain TCP), for loopback and trusted networks. */
  readonly credentials?: grpc.ChannelCredentials;
}

/** Largest message either side accepts: 10M float64 values are 80 MB on the wire. */
const MAX_MESSAGE_BYTES = 1 << 30;

function metadataString(error: grpc.ServiceError, key: string): string | undefined {
  const value = error.metadata?.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

/**
 * A detection function served by `python/grpc_server.py`.
 *
 * ```ts
 * const remote = new RemoteOutliers('127.0.0.1:50051');
 * const idx = await remote.detect(values);   // same result as new Outliers().detect(values)
 * remote.close();
 * ```
 */
export class RemoteOutliers {
  readonly #address: string;
  readonly #deadlineMs: number;
  #client: DetectClient | undefined;

  /**
   * @param address - `host:port` of a running `python/grpc_server.py`. No connection is made
   *   until the first call.
   */
  constructor(address: string, options: RemoteOutliersOptions = {}) {
    if (typeof address !== 'string' || address === '') {
      throw new TypeError('address must be a non-empty string such as "127.0.0.1:50051"');
    }
    const deadlineMs = options.deadlineMs ?? 30_000;
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new TypeError('options.deadlineMs must be a positive number');
    }
    this.#address = address;
    this.#deadlineMs = deadlineMs;
    const Client = loadClientConstructor();
    this.#client = new Client(address, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    });
  }

  /**
   * Sends `values` to the server and returns the indices it found.
   *
   * @throws TypeError if `values` is not a Float64Array (a rejection).
   * @throws {@link PythonError} if the function raised on the server.
   * @throws {@link ResultError} if its result is not a valid list of indices.
   * @throws {@link RemoteError} if the server cannot be reached within the deadline, or fails.
   * @throws {@link ClosedError} after {@link RemoteOutliers.close}.
   * @throws {@link AbortError} if `options.signal` aborts, already or during the call; the gRPC
   *   call is then cancelled (the server sees it cancelled).
   */
  async detect(values: Float64Array, options?: CallOptions): Promise<Int32Array> {
    try {
      const input = checkValues(values);
      const signal = checkSignal(options);
      const client = this.#client;
      if (client === undefined) throw new ClosedError();
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (input.length === 0) return new Int32Array(0); // as in-process: no call for no data
      let listener: Disposable | undefined;
      try {
        const reply = await new Promise<DetectReply>((resolve, reject) => {
          // protobufjs encodes `repeated double` from a plain array only: the conversion is
          // part of what a gRPC call costs, and is timed with it (NOTES.md item 22).
          const call = client.Detect(
            { values: Array.from(input) },
            { deadline: Date.now() + this.#deadlineMs },
            (error, response) => (error ? reject(error) : resolve(response!)),
          );
          if (signal !== undefined) {
            listener = onAbort(signal, (error) => {
              reject(error);
              call.cancel();
            });
          }
        });
        return Int32Array.from(reply.indices);
      } finally {
        listener?.[Symbol.dispose]();
      }
    } catch (error) {
      throw withCallSite(this.#translate(error));
    }
  }

  #translate(error: unknown): unknown {
    const serviceError = error as grpc.ServiceError;
    if (typeof serviceError?.code !== 'number') return error;
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
        const what =
          serviceError.code === grpc.status.DEADLINE_EXCEEDED
            ? `no answer within ${this.#deadlineMs} ms`
            : serviceError.code === grpc.status.UNAVAILABLE
              ? 'cannot reach the server'
              : `call failed (${grpc.status[serviceError.code] ?? serviceError.code})`;
        return new RemoteError(
          `py-outliers server at ${this.#address}: ${what}: ${serviceError.details}`,
          serviceError.code,
        );
      }
    }
  }

  /** Closes the channel. Idempotent; calls after it reject with {@link ClosedError}. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}
