/**
 * One worker process of a ProcessPool: a plain `python` running python/py_outliers_worker.py,
 * its control socket (fd 3 of the worker, a socketpair: nothing listens, nothing to open by
 * name), the shared region its calls' arrays are copied into, and the tail of its stderr.
 * The pool (src/pool.ts) decides what it runs; this class only talks to it. @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

import type { Decoder } from '@msgpack/msgpack';

import {
  alignUp,
  frame,
  INLINE_ARGUMENT_BYTES,
  INLINE_MESSAGE_BYTES,
  messageDecoder,
  HAS_FLOAT16,
  type ArrayPlacer,
  type Placement,
} from './pool-wire.js';
import { poolAddon } from './shared-memory.js';
import type { TypedArray } from './values.js';

const WORKER_SCRIPT = path.resolve(__dirname, '..', 'python', 'py_outliers_worker.py');
/** How much of a worker's stderr is kept for a ProcessExitError (its last lines). */
const STDERR_TAIL_BYTES = 4096;
/** The smallest input region: most calls then never grow one. */
export const MIN_REGION_BYTES = 1 << 20;

/** Message kinds: python/py_outliers_worker.py's CALL, ABORT, FORGET and READY, REPLY. */
export const CALL = 0;
export const ABORT = 1;
export const FORGET = 2;
export const CLOSE_FUNCTION = 3;
const MAPPED = 4;
const READY = 0;
const REPLY = 1;

/** A region of shared memory: a memfd of this process, mapped here, named for the worker. */
export interface Region {
  readonly id: number;
  readonly path: string;
  readonly size: number;
  readonly buffer: ArrayBuffer;
}

let lastRegionId = 0;

/** A new shared region of `bytes` bytes. */
export function createRegion(bytes: number): Region {
  const [fd, buffer] = poolAddon().createRegion(bytes);
  return { id: ++lastRegionId, path: `/proc/${process.pid}/fd/${fd}`, size: bytes, buffer };
}

/** Where `array` lies if it was made by ProcessPool.allocate (no copy), else undefined. */
function allocatedPlacement(settings: WorkerSettings, array: TypedArray): Placement | undefined {
  const region = settings.sharedRegions.get(array.buffer);
  return region === undefined ? undefined : [region.id, region.path, region.size, array.byteOffset];
}

/** Copies a call's arrays into a region one after another, each on a 64-byte boundary. */
class RegionWriter {
  readonly region: Region;
  #cursor = 0;

  constructor(region: Region) {
    this.region = region;
  }

  /** The next call's arrays start at the region's beginning again. */
  rewind(): void {
    this.#cursor = 0;
  }

  copyIn(array: TypedArray): Placement {
    const { region } = this;
    const offset = this.#cursor;
    new Uint8Array(region.buffer, offset, array.byteLength).set(
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
    );
    this.#cursor = alignUp(offset + array.byteLength);
    return [region.id, region.path, region.size, offset];
  }
}

/**
 * The input of a call still queued, copied ahead into a region of its own while every worker
 * is busy (src/pool.ts, staging): when a worker frees, the call is sent at once, and the copy
 * of its arrays has overlapped the calls running. Any worker can map the region: its path
 * names this process's memfd.
 */
export class StagedInput implements ArrayPlacer {
  readonly inlineBytes = INLINE_ARGUMENT_BYTES;
  readonly #settings: WorkerSettings;
  #writer: RegionWriter | undefined;
  #bytes = 0;

  constructor(settings: WorkerSettings) {
    this.#settings = settings;
  }

  /** The region it fills (set once, by `use`). */
  get region(): Region | undefined {
    return this.#writer?.region;
  }

  /** The bytes it copies (set by `use`). */
  get bytes(): number {
    return this.#bytes;
  }

  use(region: Region, bytes: number): void {
    this.#writer = new RegionWriter(region);
    this.#bytes = bytes;
  }

  sharedRegionOf(array: TypedArray): Placement | undefined {
    return allocatedPlacement(this.#settings, array);
  }

  copyIn(array: TypedArray): Placement {
    if (this.#writer === undefined) throw new Error('py-outliers: no staging region was given');
    return this.#writer.copyIn(array);
  }
}

/** A call's reply: [status, payload, opened, rss bytes, keeps region]. */
export type Reply = [
  status: number,
  payload: unknown,
  opened: boolean,
  rss: number | null,
  keeps: boolean,
];

export interface WorkerEvents {
  ready(worker: WorkerProcess): void;
  reply(worker: WorkerProcess, callId: number, reply: Reply): void;
  exit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
}

export interface WorkerSettings {
  readonly python: string;
  readonly env: NodeJS.ProcessEnv;
  readonly reportRss: boolean;
  /** The pool's regions handed out by ProcessPool.allocate, by their ArrayBuffer. */
  readonly sharedRegions: WeakMap<ArrayBufferLike, Region>;
  /** The low-latency mode's window, µs; 0: off. */
  readonly lowLatencyUs: number;
}

export class WorkerProcess implements ArrayPlacer {
  readonly child: ChildProcess;
  readonly #channel: Socket;
  readonly #aborts: Socket;
  readonly #stderr: Readable;
  readonly #events: WorkerEvents;
  readonly #settings: WorkerSettings;
  readonly #decoder: Decoder;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #stderrTail = '';
  #exited = false;
  #referenced = true;
  /** Whether the worker said it is ready. */
  ready = false;
  /** Set once the pool stops sending it calls (recycled, closing, or killed). */
  retiring = false;
  /** The call it runs, if any. */
  current: number | undefined;
  /** The call sent to it ahead of its reply to `current` (the pool's sendAhead), if any. */
  ahead: number | undefined;
  /** The functions it has imported, by id. */
  readonly opened = new Set<number>();
  /** Calls it has run. */
  calls = 0;
  /** Regions it should unmap, sent with its next message. */
  readonly forget: number[] = [];
  /** Calls whose result files were mapped here: it may close them (sent with the next message). */
  readonly #mapped: number[] = [];
  /** Whether a reply being decoded mapped a result file. */
  #mappedFile = false;
  /** Whether its channel reached its end: every reply it wrote has been read. */
  #allRead = false;
  /** Calls whose message could not be written to it. */
  readonly #undelivered = new Set<number>();
  #input: RegionWriter | undefined;
  /** Arrays up to this size go in the message (ArrayPlacer). */
  inlineBytes = INLINE_ARGUMENT_BYTES;
  /** The input region's size, kept when it is retired. */
  #inputSize = MIN_REGION_BYTES;

  constructor(settings: WorkerSettings, events: WorkerEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#decoder = messageDecoder((file, bytes) => {
      this.#mappedFile = true;
      return poolAddon().mapFile(file, bytes);
    });
    const flags = (settings.reportRss ? 'r' : '') + (HAS_FLOAT16 ? 'h' : '') || '-';
    // stdin: nothing (a worker reading it would steal the parent's); stdout: the parent's, as
    // under `python`; stderr: through us, kept for a ProcessExitError and passed on; fd 3: the
    // control socket.
    // fd 4: aborts, read by a thread of the worker while its main thread runs the call.
    const args = [WORKER_SCRIPT, String(process.pid), flags, String(settings.lowLatencyUs)];
    this.child = spawn(settings.python, args, {
      stdio: ['ignore', 'inherit', 'pipe', 'pipe', 'pipe'],
      env: settings.env,
    });
    if (this.child.pid !== undefined) poolAddon().watchProcess(this.child.pid);
    this.#channel = this.child.stdio[3] as Socket;
    this.#aborts = this.child.stdio[4] as Socket;
    this.#aborts.on('error', () => {});
    this.#stderr = this.child.stderr as Readable;
    (this.#aborts as { unref?: () => void }).unref?.();
    (this.#stderr as { unref?: () => void }).unref?.();
    this.#stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    this.#channel.on('data', (chunk: Buffer) => this.#receive(chunk));
    this.#channel.on('end', () => {
      this.#allRead = true;
    });
    this.#channel.on('error', (error: NodeJS.ErrnoException) => {
      // The exit says what happened. A read that fails with ECONNRESET: the worker died with
      // a message of ours unread. The kernel gives queued data before that error (AF_UNIX
      // reads, as POSIX orders them), so every reply it wrote has been read, as at an end.
      if (error.code === 'ECONNRESET' && error.syscall === 'read') this.#allRead = true;
    });
    this.child.on('error', (error) => {
      // spawn failed (no such interpreter): no 'exit' follows.
      this.#stderrTail += `${error.message}\n`;
      this.#ended(null, null);
    });
    this.child.on('exit', (code, signal) => {
      if (this.child.pid !== undefined) poolAddon().unwatchProcess(this.child.pid);
      // The stderr pipe may still hold the last lines (a fault handler's traceback), and the
      // channel the last replies: wait for both ends, but not for a grandchild that keeps
      // either open.
      const timer = setTimeout(() => this.#ended(code, signal), 200);
      let open = 2;
      const closed = (): void => {
        if (--open > 0) return;
        clearTimeout(timer);
        this.#ended(code, signal);
      };
      this.#stderr.once('close', closed);
      if (this.#allRead || this.#channel.destroyed) closed();
      else this.#channel.once('close', closed);
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The last lines of its stderr. */
  get stderrTail(): string {
    const lines = this.#stderrTail.trimEnd().split('\n');
    return lines.slice(-20).join('\n');
  }

  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Whether every reply the worker wrote was read before it ended: then a call sent ahead
   * that got no reply never started (it runs its calls in order, replying to each first).
   */
  get allRead(): boolean {
    return this.#allRead;
  }

  /** Asks the worker to interrupt call `id` (CallAborted), on the abort socket. */
  abort(id: number): void {
    if (!this.#exited && !this.#aborts.destroyed) this.#aborts.write(frame([ABORT, id]));
  }

  /**
   * Sends one message (and first any regions to forget). With `callId`, the call's message is
   * watched: if it cannot be written (the worker is gone), the call is known never to have
   * reached the worker (`undelivered`).
   */
  send(message: unknown, callId?: number): void {
    if (this.#exited || this.#channel.destroyed) {
      if (callId !== undefined) this.#undelivered.add(callId);
      return;
    }
    this.sendForget();
    if (callId === undefined) this.#channel.write(frame(message));
    else {
      this.#channel.write(frame(message), (error) => {
        if (error) this.#undelivered.add(callId);
      });
    }
  }

  /** Whether the message of call `callId` (sent with its id) failed to reach the worker. */
  undelivered(callId: number): boolean {
    return this.#undelivered.has(callId);
  }

  /** Tells the worker now which regions to unmap, if any (else they go with its next call). */
  sendForget(): void {
    if (!this.ready || this.#exited || this.#channel.destroyed) return;
    if (this.forget.length > 0) this.#channel.write(frame([FORGET, this.forget.splice(0)]));
    if (this.#mapped.length > 0) this.#channel.write(frame([MAPPED, this.#mapped.splice(0)]));
  }

  /**
   * Keeps Node's event loop alive for this worker (calls in flight, or the pool closing) or
   * not (idle). Only the control socket and the child are ever referenced: the abort socket
   * and stderr never keep Node alive on their own. Toggled only when it changes (a call at a
   * time flips it twice a call).
   */
  setRef(ref: boolean): void {
    if (ref === this.#referenced) return;
    this.#referenced = ref;
    for (const handle of [this.child, this.#channel] as {
      ref?: () => void;
      unref?: () => void;
    }[]) {
      if (ref) handle.ref?.();
      else handle.unref?.();
    }
  }

  /** Ends the worker as `python` ends: its channel closes, it finishes its call and exits. */
  end(): void {
    this.retiring = true;
    this.#channel.end();
    this.#aborts.end();
  }

  kill(): void {
    this.retiring = true;
    if (!this.#exited) this.child.kill('SIGKILL');
  }

  // ---- ArrayPlacer: the call's arrays into this worker's input region

  /** Makes the input region hold `bytes` for the next call (a new one if it is too small). */
  prepareInput(bytes: number): void {
    this.#input?.rewind();
    if (bytes === 0) return;
    const size = this.#input?.region.size;
    if (size === undefined || size < bytes) {
      // Grows by doubling; a region retired because a call kept a view is replaced at its size.
      const grown = size === undefined ? this.#inputSize : size * 2;
      this.#retireInput();
      this.#inputSize = Math.max(MIN_REGION_BYTES, bytes, grown);
      this.#input = new RegionWriter(createRegion(this.#inputSize));
    }
  }

  /** The call kept a view of the input region: the next call gets a new one. */
  inputKept(): void {
    this.#retireInput();
    // Its calls keep their arguments (a cache, a global): from now on arrays up to 16 KiB go in
    // the message, so that such a call of small arrays does not cost a new region each time.
    this.inlineBytes = INLINE_MESSAGE_BYTES;
  }

  #retireInput(): void {
    if (this.#input !== undefined) this.forget.push(this.#input.region.id);
    this.#input = undefined;
  }

  sharedRegionOf(array: TypedArray): Placement | undefined {
    return allocatedPlacement(this.#settings, array);
  }

  copyIn(array: TypedArray): Placement {
    if (this.#input === undefined) throw new Error('py-outliers: no input region was prepared');
    return this.#input.copyIn(array);
  }

  // ---- the channel

  #receive(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    for (;;) {
      if (this.#pendingBytes < 4) return;
      let data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
      const length = data.readUInt32LE(0);
      if (data.length < 4 + length) {
        this.#pending = [data];
        return;
      }
      this.#mappedFile = false;
      const message = this.#decoder.decode(data.subarray(4, 4 + length)) as unknown[];
      if (this.#mappedFile) this.#mapped.push(message[1] as number);
      data = data.subarray(4 + length);
      this.#pending = data.length > 0 ? [data] : [];
      this.#pendingBytes = data.length;
      this.#handle(message);
    }
  }

  #handle(message: unknown[]): void {
    if (message[0] === READY) {
      this.ready = true;
      this.#events.ready(this);
    } else if (message[0] === REPLY) {
      this.#events.reply(this, message[1] as number, message.slice(2) as Reply);
    }
  }

  #ended(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited) return;
    this.#exited = true;
    this.retiring = true;
    this.#channel.destroy();
    this.#aborts.destroy();
    this.#events.exit(this, code, signal);
  }
}
