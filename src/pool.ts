/**
 * ProcessPool: Python in worker processes, the same calls as in-process, isolated (a crash costs
 * one call), on every core, and with any CPython from 3.9 (docs/processes.md). The Node side
 * loads no libpython: only the pool addon (native/pool/), for shared memory.
 */
import { ClosedError, ProcessExitError, PythonStartError } from './errors.js';
import { interpreterToRun } from './interpreter.js';
import { asyncOnlyDetector, asyncOnlyFunction } from './async-only.js';
import type { CallPlace, PlacedDetector, PlacedFunction } from './place.js';
import {
  bytesToCopy,
  encodeValues,
  INT64_MODES,
  placeArguments,
  readArguments,
  settleReply,
  type ArrayPlacer,
  type ReadArguments,
} from './pool-wire.js';
import {
  CALL,
  CLOSE_FUNCTION,
  createRegion,
  MIN_REGION_BYTES,
  StagedInput,
  WorkerProcess,
  type Region,
  type Reply,
  type WorkerSettings,
} from './pool-worker.js';
import { lowLatencyUs } from './settings.js';
import { poolAddon } from './shared-memory.js';
import type { TypedArray } from './values.js';

/** Options of {@link ProcessPool}. */
export interface ProcessPoolOptions {
  /**
   * How many worker processes. Default: the CPUs this process may use, counting its affinity
   * mask and its cgroup's CPU quota (a 1-CPU container gets 1 on a 64-core host).
   */
  readonly processes?: number;
  /**
   * The Python interpreter the workers run, any CPython from 3.9. Default: the one in-process
   * Python would be (`$PY_OUTLIERS_PYTHON`, the active venv, `python3` on `PATH`).
   */
  readonly python?: string;
  /** The workers' environment. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** A worker is replaced after this many calls (its current call finishes). Default: never. */
  readonly maxCallsPerProcess?: number;
  /**
   * A worker is replaced once its resident memory passes this many MiB, checked after each
   * call (that call's result is kept). Default: never.
   */
  readonly maxRssMb?: number;
  /**
   * How long after an abort a running call may take to return before its worker is killed
   * (SIGKILL) and replaced: a call stuck in C code still ends. Default 1000 ms.
   */
  readonly killAfterMs?: number;
  /**
   * Send each busy worker its next call before it replies to the one it runs, so that it
   * starts that call at once, with no round trip to Node in between: more calls/s when many
   * small calls are in flight. The cost: a call sent ahead waits for the call before it even
   * if another worker frees first, and a worker whose end cannot be read fully (a child of it
   * keeps its channel open) fails the call sent ahead too. Default false (docs/processes.md).
   */
  readonly sendAhead?: boolean;
}

/** A typed array's constructor, as {@link ProcessPool.allocate} takes it (`Float64Array`...). */
export type TypedArrayConstructor<T extends TypedArray> = new (
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
) => T;

/** The worker's contract numbers: PythonFunction's and detect's. */
const FUNCTION_CONTRACT = 0;
const DETECT_CONTRACT = 1;
/** The back-off after a worker failed to start: doubles from this, up to MAX. */
const START_BACKOFF_MS = 500;
const MAX_START_BACKOFF_MS = 30_000;
/** How long a recycled or closing worker may take to exit before it is killed. */
const EXIT_GRACE_MS = 5000;
/**
 * Staging: while every worker is busy, the input of the calls next in the queue (at most one
 * per worker) is copied ahead into regions of their own, so that a worker that frees is sent
 * its next call at once; the copy overlaps the calls running instead of delaying the next.
 * Only calls with at least STAGE_MIN_BYTES to copy (below that the copy costs less than the
 * staging), and at most STAGE_MAX_BYTES staged in all (memory). docs/processes.md has it,
 * under "Shared memory".
 */
const STAGE_MIN_BYTES = 64 * 1024;
const STAGE_MAX_BYTES = 256 * 2 ** 20;

interface PoolCall {
  readonly id: number;
  readonly functionId: number;
  readonly spec: [string, string, string[], number];
  readonly int64: number;
  /** Its arguments: PythonFunction's as read, or detect's values. */
  readonly args: ReadArguments | Float64Array;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  worker?: WorkerProcess | undefined;
  killTimer?: NodeJS.Timeout;
  /** Its input, copied ahead while it was queued (staging), and its message's arguments. */
  stage?: StagedInput | undefined;
  placed?: [positional: unknown[], keywords: Record<string, unknown>];
}

let lastId = 0;
/** Why a pooled call cannot be sync, for the TypeError of `call` and `detect`. */
const POOL_WHY = 'in a ProcessPool (a call waits for another process)';
/** The pools of this environment (thread) with calls in flight: the low-latency mode's poll. */
let busyPools = 0;

/** The scheduler of a pool: its queue, its workers, faults and recycling. @internal */
class PoolScheduler implements CallPlace {
  readonly #processes: number;
  readonly #settings: WorkerSettings;
  readonly #maxCalls: number;
  readonly #maxRssBytes: number;
  readonly #killAfterMs: number;
  readonly #sendAhead: boolean;
  readonly #workers = new Set<WorkerProcess>();
  readonly #queue: PoolCall[] = [];
  readonly #calls = new Map<number, PoolCall>();
  readonly #regionsGone = new FinalizationRegistry<number>((id) => {
    for (const worker of this.#workers) worker.forget.push(id);
  });
  #closed = false;
  #closing: Promise<void> | undefined;
  #startFailures = 0;
  #startError: PythonStartError | undefined;
  #blockedUntil = 0;
  /** Whether this pool counts in busyPools. */
  #inFlight = false;
  /** Staging regions no call uses now, kept for the next (dropped when the pool is idle). */
  readonly #spareStages: Region[] = [];
  #stagedBytes = 0;

  constructor(options: ProcessPoolOptions) {
    this.#processes = options.processes ?? poolAddon().usableCpus();
    this.#maxCalls = options.maxCallsPerProcess ?? Infinity;
    this.#maxRssBytes = options.maxRssMb === undefined ? Infinity : options.maxRssMb * 2 ** 20;
    this.#killAfterMs = options.killAfterMs ?? 1000;
    this.#sendAhead = options.sendAhead ?? false;
    this.#settings = {
      python: options.python ?? interpreterToRun().file,
      env: options.env ?? process.env,
      reportRss: options.maxRssMb !== undefined,
      sharedRegions: new WeakMap(),
      // This process's setting, for both ends of each call (docs/processes.md).
      lowLatencyUs: poolAddon().lowLatencyWindowUs(lowLatencyUs(process.env)),
    };
    this.#fill();
  }

  get pids(): number[] {
    return [...this.#workers].filter((w) => !w.exited && w.pid !== 0).map((w) => w.pid);
  }

  get closed(): boolean {
    return this.#closed;
  }

  allocate<T extends TypedArray>(type: TypedArrayConstructor<T>, length: number): T {
    const bytes = length * (type as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const region = createRegion(bytes);
    this.#settings.sharedRegions.set(region.buffer, region);
    this.#regionsGone.register(region.buffer, region.id);
    return new type(region.buffer, 0, length);
  }

  // ---- CallPlace

  openDetector(moduleName: string, funcName: string, paths: string[]): PlacedDetector {
    const functionId = ++lastId;
    const spec: [string, string, string[], number] = [moduleName, funcName, paths, DETECT_CONTRACT];
    return asyncOnlyDetector(
      POOL_WHY,
      (values) => this.#submit(functionId, spec, 0, values),
      () => this.#forgetFunction(functionId),
    );
  }

  openFunction(moduleName: string, funcName: string, paths: string[]): PlacedFunction {
    const functionId = ++lastId;
    const spec: [string, string, string[], number] = [
      moduleName,
      funcName,
      paths,
      FUNCTION_CONTRACT,
    ];
    return asyncOnlyFunction(
      POOL_WHY,
      (args, kwargs, int64) => this.#submit(functionId, spec, int64, readArguments(args, kwargs)),
      () => this.#forgetFunction(functionId),
    );
  }

  int64Modes(): Readonly<Record<'bigint' | 'int32' | 'float64', number>> {
    return INT64_MODES;
  }

  cancel(id: number, error: Error): boolean {
    const call = this.#calls.get(id);
    if (call === undefined || call.settled) return false;
    this.#settle(call, () => call.reject(error));
    const worker = call.worker;
    if (worker === undefined) {
      // Still queued: it is never sent.
      this.#queue.splice(this.#queue.indexOf(call), 1);
      this.#calls.delete(id);
      this.#unstage(call, false);
      this.#updateRef();
      return true;
    }
    // Running: interrupted as in-process (CallAborted), and if it has not returned in time,
    // its worker is killed and replaced. Sent ahead: the worker skips it, and its timer starts
    // only if it is still running once it is the worker's current call.
    worker.abort(id);
    if (worker.current === id) this.#startKillTimer(call, worker);
    return true;
  }

  #startKillTimer(call: PoolCall, worker: WorkerProcess): void {
    call.killTimer ??= setTimeout(() => worker.kill(), this.#killAfterMs);
  }

  // ---- calls

  #submit(
    functionId: number,
    spec: [string, string, string[], number],
    int64: number,
    args: ReadArguments | Float64Array,
  ): [Promise<unknown>, number] {
    if (this.#closed) throw new ClosedError('the ProcessPool is closed');
    const id = ++lastId;
    let resolve!: (value: unknown) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const call: PoolCall = {
      id,
      functionId,
      spec,
      int64,
      args,
      resolve,
      reject,
      settled: false,
    };
    if (this.#startError !== undefined && Date.now() < this.#blockedUntil && !this.#anyReady()) {
      // Workers cannot start now; no restart loop: the calls fail until the back-off ends.
      call.settled = true;
      reject(this.#startError);
      return [promise, -1];
    }
    this.#calls.set(id, call);
    this.#queue.push(call);
    this.#fill();
    this.#dispatch();
    this.#updateRef();
    return [promise, id];
  }

  #anyReady(): boolean {
    for (const worker of this.#workers) if (worker.ready && !worker.retiring) return true;
    return false;
  }

  /** Sends queued calls to idle workers, oldest first; then stages the next ones. */
  #dispatch(): void {
    for (const worker of this.#workers) {
      if (this.#queue.length === 0) return;
      if (!worker.ready || worker.retiring || worker.current !== undefined) continue;
      this.#send(worker, this.#queue.shift()!);
      if (worker.current === undefined) return this.#dispatch(); // that call failed to send
    }
    if (this.#sendAhead) this.#sendAheadAll();
    this.#stageQueued();
  }

  #send(worker: WorkerProcess, call: PoolCall): void {
    const spec = worker.opened.has(call.functionId) ? null : call.spec;
    let placed = call.placed;
    if (placed === undefined) {
      try {
        worker.prepareInput(bytesToCopy(arraysOf(call), worker));
        placed = placeInput(call, worker);
      } catch (error) {
        this.#placingFailed(call, error);
        return;
      }
    }
    call.worker = worker;
    const message = [CALL, call.id, call.functionId, spec, placed[0], placed[1], call.int64];
    if (worker.current === undefined) {
      worker.current = call.id;
      worker.send(message);
    } else {
      worker.ahead = call.id;
      worker.send(message, call.id); // watched: a crash may come before it is written
    }
    if (this.#settings.lowLatencyUs > 0) poolAddon().pollSubmitted(this.#settings.lowLatencyUs);
  }

  /**
   * An array detached while the call waited in the queue (in-process pins the memory
   * instead): this call fails, the worker stays free.
   */
  #placingFailed(call: PoolCall, error: unknown): void {
    this.#calls.delete(call.id);
    this.#settle(call, () =>
      call.reject(
        isDetachedError(error)
          ? new TypeError("an argument's ArrayBuffer was detached before the call was sent")
          : error,
      ),
    );
  }

  /**
   * Copies ahead the input of the calls next in the queue, as many as there are workers
   * (staging, see STAGE_MIN_BYTES). Only those are looked at: a long queue of small calls is
   * not scanned on every dispatch.
   */
  #stageQueued(): void {
    for (let i = 0; i < Math.min(this.#queue.length, this.#processes); i++) {
      const call = this.#queue[i]!;
      if (call.placed === undefined && this.#stage(call, STAGE_MIN_BYTES) === 'failed') i--;
    }
  }

  /**
   * Places a queued call's input where any worker can see it: its arrays over `minBytes` in
   * all are copied into a staging region ('skipped' if they are fewer, or if STAGE_MAX_BYTES
   * would be passed); 'failed' if an array could not be read (the call is rejected and
   * leaves the queue).
   */
  #stage(call: PoolCall, minBytes: number): 'staged' | 'skipped' | 'failed' {
    const stage = new StagedInput(this.#settings);
    const bytes = bytesToCopy(arraysOf(call), stage);
    if (bytes < minBytes || this.#stagedBytes + bytes > STAGE_MAX_BYTES) return 'skipped';
    if (bytes > 0) stage.use(this.#spareStage(bytes), bytes);
    call.stage = stage;
    this.#stagedBytes += bytes;
    try {
      call.placed = placeInput(call, stage);
      return 'staged';
    } catch (error) {
      this.#queue.splice(this.#queue.indexOf(call), 1);
      this.#unstage(call, false);
      this.#placingFailed(call, error);
      return 'failed';
    }
  }

  /**
   * sendAhead: each busy worker is sent the next queued call before it replies (the worker
   * reads it as soon as it has replied, with no round trip to Node in between). Its input goes
   * through a staging region: the worker's own input region is its running call's.
   */
  #sendAheadAll(): void {
    for (const worker of this.#workers) {
      if (
        !worker.ready ||
        worker.retiring ||
        worker.current === undefined ||
        worker.ahead !== undefined ||
        worker.calls + 2 > this.#maxCalls // its last call before recycling is not sent ahead
      ) {
        continue;
      }
      for (;;) {
        const call = this.#queue[0];
        if (call === undefined) return;
        const outcome = call.placed === undefined ? this.#stage(call, 0) : 'staged';
        if (outcome === 'skipped') return; // too large to stage now: it waits for an idle worker
        if (outcome === 'failed') continue;
        this.#send(worker, this.#queue.shift()!);
        break;
      }
    }
  }

  /** A spare staging region of at least `bytes`, or a new one. */
  #spareStage(bytes: number): Region {
    const index = this.#spareStages.findIndex((region) => region.size >= bytes);
    if (index >= 0) return this.#spareStages.splice(index, 1)[0]!;
    return createRegion(Math.max(MIN_REGION_BYTES, bytes));
  }

  /**
   * The call's staging region is free again: kept for the next call, or dropped if the call
   * kept a view of it (the workers unmap it at their next message; the view keeps its pages).
   */
  #unstage(call: PoolCall, kept: boolean): void {
    if (call.stage === undefined) return;
    const region = call.stage.region;
    this.#stagedBytes -= call.stage.bytes;
    call.stage = undefined;
    if (region === undefined) return;
    if (kept) this.#dropStage(region);
    else {
      this.#spareStages.push(region);
      // As many spares as workers at most: the smallest goes.
      if (this.#spareStages.length > this.#processes) {
        this.#spareStages.sort((a, b) => b.size - a.size);
        this.#dropStage(this.#spareStages.pop()!);
      }
    }
  }

  #dropStage(region: Region): void {
    for (const worker of this.#workers) worker.forget.push(region.id);
  }

  #settle(call: PoolCall, how: () => void): void {
    if (call.settled) return;
    call.settled = true;
    how();
  }

  // ---- worker events

  readonly #events = {
    ready: (): void => {
      const recovered = this.#startError !== undefined;
      this.#startFailures = 0;
      this.#startError = undefined;
      // After failed starts, workers start one at a time: one is up, so start the rest.
      if (recovered) this.#fill();
      this.#dispatch();
      this.#updateRef();
    },
    reply: (worker: WorkerProcess, callId: number, reply: Reply): void => {
      const [status, payload, opened, rss, keeps] = reply;
      const call = this.#calls.get(callId);
      this.#calls.delete(callId);
      // A worker replies in the order it was sent its calls: the one sent ahead runs now.
      worker.current = worker.ahead;
      worker.ahead = undefined;
      worker.calls++;
      const next = worker.current === undefined ? undefined : this.#calls.get(worker.current);
      if (next?.settled === true) this.#startKillTimer(next, worker); // aborted while ahead
      const staged = call?.stage !== undefined;
      if (call !== undefined) {
        clearTimeout(call.killTimer);
        if (opened) worker.opened.add(call.functionId);
        this.#unstage(call, keeps);
        this.#settle(call, () => settleReply(status, payload, call.resolve, call.reject));
      }
      if (keeps && !staged) worker.inputKept();
      const spent = worker.calls >= this.#maxCalls || (rss ?? 0) > this.#maxRssBytes;
      if (spent && !worker.retiring) this.#recycle(worker);
      // Ending, and no call left (a call sent ahead runs first): it exits, or is killed.
      if (worker.retiring && worker.current === undefined) {
        setTimeout(() => worker.kill(), EXIT_GRACE_MS).unref();
      }
      this.#dispatch();
      this.#updateRef();
      this.#checkClosed();
    },
    exit: (worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void => {
      this.#workers.delete(worker);
      const callId = worker.current;
      const call = callId === undefined ? undefined : this.#calls.get(callId);
      const exitError = (): ProcessExitError =>
        new ProcessExitError(worker.pid, code, signal, worker.stderrTail);
      if (call !== undefined) {
        this.#calls.delete(call.id);
        clearTimeout(call.killTimer);
        this.#unstage(call, false);
        this.#settle(call, () => call.reject(exitError()));
      }
      const ahead = worker.ahead === undefined ? undefined : this.#calls.get(worker.ahead);
      if (ahead !== undefined) {
        const neverStarted = worker.allRead || worker.undelivered(ahead.id);
        if (neverStarted && !ahead.settled && !this.#closed) {
          // It never reached the worker, or every reply the worker wrote was read and none
          // was this call's: it never started (a worker runs its calls in order, replying to
          // each before it reads the next). It runs on another worker; its input is staged.
          ahead.worker = undefined;
          this.#queue.unshift(ahead);
        } else {
          // It may have started: it is not run again.
          this.#calls.delete(ahead.id);
          this.#unstage(ahead, false);
          this.#settle(ahead, () => ahead.reject(exitError()));
        }
      }
      if (!worker.ready && !this.#closed) this.#startFailed(worker, code, signal);
      this.#fill();
      this.#dispatch();
      this.#updateRef();
      this.#checkClosed();
    },
  };

  /** A worker exited before it was ready: the calls waiting fail, and starts back off. */
  #startFailed(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.#startFailures++;
    const how =
      signal !== null
        ? `was killed by ${signal}`
        : code === null
          ? 'did not start'
          : `exited with code ${code}`;
    const tail = worker.stderrTail;
    this.#startError = new PythonStartError(
      `py-outliers: a worker process ('${this.#settings.python}') ${how} before it was ready` +
        (tail === '' ? '' : `:\n${tail}`) +
        `\nName a CPython 3.9 or later with the pool's \`python\` option or PY_OUTLIERS_PYTHON.`,
    );
    this.#blockedUntil =
      Date.now() +
      Math.min(MAX_START_BACKOFF_MS, START_BACKOFF_MS * 2 ** (this.#startFailures - 1));
    if (!this.#anyReady()) {
      for (const call of this.#queue.splice(0)) {
        this.#calls.delete(call.id);
        this.#unstage(call, false);
        this.#settle(call, () => call.reject(this.#startError));
      }
    }
  }

  /** Starts workers up to the pool's size, unless starting is backing off. */
  #fill(): void {
    if (this.#closed) return;
    if (this.#startError !== undefined && Date.now() < this.#blockedUntil) {
      // Retried when the back-off ends, by the next call (no timer: an idle pool costs nothing).
      return;
    }
    let live = 0;
    for (const worker of this.#workers) if (!worker.retiring) live++;
    // While starts fail, one at a time.
    const want = this.#startError === undefined ? this.#processes : Math.min(1, this.#processes);
    for (; live < want; live++) {
      const worker = new WorkerProcess(this.#settings, {
        ready: () => this.#events.ready(),
        reply: (w, id, reply) => this.#events.reply(w, id, reply),
        exit: (w, code, signal) => this.#events.exit(w, code, signal),
      });
      this.#workers.add(worker);
      worker.setRef(this.#calls.size > 0);
    }
  }

  /**
   * Replaces `worker`, whose call has ended: it is sent nothing more, and exits once it has run
   * a call it was sent ahead, if any (its grace timer starts when it has no call left).
   */
  #recycle(worker: WorkerProcess): void {
    worker.end();
    this.#fill();
  }

  #forgetFunction(functionId: number): void {
    for (const worker of this.#workers) {
      if (worker.opened.delete(functionId) && worker.ready)
        worker.send([CLOSE_FUNCTION, functionId]);
    }
  }

  /** Calls in flight keep Node running; an idle pool does not. */
  #updateRef(): void {
    const busy = this.#calls.size > 0 || this.#closing !== undefined;
    for (const worker of this.#workers) worker.setRef(busy);
    const inFlight = this.#calls.size > 0;
    // Idle: the staging regions go, from the workers' memory too (a burst makes them again).
    if (!inFlight && this.#spareStages.length > 0) {
      for (const region of this.#spareStages.splice(0)) this.#dropStage(region);
      for (const worker of this.#workers) worker.sendForget();
    }
    if (inFlight !== this.#inFlight) {
      this.#inFlight = inFlight;
      busyPools += inFlight ? 1 : -1;
      if (busyPools === 0 && this.#settings.lowLatencyUs > 0) poolAddon().pollIdle();
    }
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const call of this.#queue.splice(0)) {
      this.#calls.delete(call.id);
      this.#unstage(call, false);
      this.#settle(call, () => call.reject(new ClosedError('the ProcessPool is closed')));
    }
    this.#closing = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#updateRef();
    this.#checkClosed();
    return this.#closing;
  }

  #resolveClosed: (() => void) | undefined;

  /** Once closing: idle workers end; when none is left, close() resolves. */
  #checkClosed(): void {
    if (!this.#closed) return;
    for (const worker of this.#workers) {
      if (worker.current === undefined && !worker.retiring) {
        worker.end();
        setTimeout(() => worker.kill(), EXIT_GRACE_MS).unref();
      }
    }
    if (this.#workers.size === 0) this.#resolveClosed?.();
  }
}

/** The arrays of a call's arguments. */
function arraysOf(call: PoolCall): readonly { array: TypedArray }[] {
  return call.args instanceof Float64Array ? [{ array: call.args }] : call.args.arrays;
}

/** Places the call's arrays with `placer`: its message's positional and keyword arguments. */
function placeInput(call: PoolCall, placer: ArrayPlacer): [unknown[], Record<string, unknown>] {
  if (call.args instanceof Float64Array) return [[encodeValues(call.args, placer)], {}];
  placeArguments(call.args, placer);
  return [call.args.positional, call.args.keywords];
}

function isDetachedError(error: unknown): boolean {
  return error instanceof TypeError && /detached/i.test(error.message);
}

const schedulers = new WeakMap<ProcessPool, PoolScheduler>();

/**
 * Worker processes that run {@link PythonFunction} and {@link Outliers} calls: each a plain
 * `python` (any CPython from 3.9, numpy optional), so a crash, a leak or a stuck call costs one
 * call and not the Node process, and calls run in parallel on every core.
 *
 * ```ts
 * await using pool = new ProcessPool();                 // one worker per usable CPU
 * const norm = new PythonFunction('numpy', 'linalg.norm', { pool });
 * const n = await norm.callAsync([new Float64Array([3, 4])]);   // 5
 * ```
 *
 * Arguments and results are the same as in-process. Arrays go through memory shared with the
 * worker: an argument array is copied into it once, or not at all if it was made by
 * {@link ProcessPool.allocate}; a large result array is written once by the worker and mapped
 * here. A pool belongs to the thread (main or Worker) that made it; its workers end with that
 * thread, and with the process, even if it is killed.
 */
export class ProcessPool implements AsyncDisposable {
  /**
   * Starts the worker processes (they import nothing until their first call).
   *
   * @throws TypeError if an option has the wrong type.
   */
  constructor(options: ProcessPoolOptions = {}) {
    checkOptions(options);
    schedulers.set(this, new PoolScheduler(options));
  }

  /** The process ids of the live worker processes, for monitoring. */
  get pids(): number[] {
    return schedulerOf(this).pids;
  }

  /**
   * A typed array in memory shared with the workers: fill it and pass it, and it reaches
   * Python with no copy at all. The memory is shared: do not write it while a call that was
   * given it runs. It is freed when the array is garbage-collected.
   *
   * ```ts
   * const values = pool.allocate(Float64Array, 1_000_000);
   * values.set(readings);
   * await detector.detectAsync(values);
   * ```
   */
  allocate<T extends TypedArray>(type: TypedArrayConstructor<T>, length: number): T {
    if (
      typeof type !== 'function' ||
      typeof (type as { BYTES_PER_ELEMENT?: unknown }).BYTES_PER_ELEMENT !== 'number'
    ) {
      throw new TypeError('type must be a typed array constructor, such as Float64Array');
    }
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new TypeError('length must be a whole number >= 0');
    }
    return schedulerOf(this).allocate(type, length);
  }

  /**
   * Closes the pool: calls still queued reject with {@link ClosedError}, calls running finish
   * (their promises settle as usual), then every worker exits as `python` does (atexit
   * handlers run). Resolves when all of them have exited. Idempotent. A worker that has not
   * exited 5 s after its last call is killed.
   */
  close(): Promise<void> {
    return schedulerOf(this).close();
  }

  /** {@link ProcessPool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The scheduler behind `pool`, the place its objects' calls run. @internal */
export function schedulerOf(pool: ProcessPool): CallPlace & {
  readonly pids: number[];
  readonly closed: boolean;
  allocate<T extends TypedArray>(type: TypedArrayConstructor<T>, length: number): T;
  close(): Promise<void>;
} {
  const scheduler = schedulers.get(pool);
  if (scheduler === undefined) throw new TypeError('options.pool must be a ProcessPool');
  return scheduler;
}

/** The place of an object made with `{ pool }`: the pool's scheduler. @internal */
export function placeOf(pool: unknown): CallPlace {
  if (!(pool instanceof ProcessPool)) throw new TypeError('options.pool must be a ProcessPool');
  const scheduler = schedulerOf(pool);
  if (scheduler.closed) throw new ClosedError('the ProcessPool is closed');
  return scheduler;
}

function checkOptions(options: ProcessPoolOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object');
  }
  const whole = (name: keyof ProcessPoolOptions, min: number): void => {
    const value = options[name];
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    ) {
      throw new TypeError(`options.${name} must be a whole number >= ${min}`);
    }
  };
  whole('processes', 1);
  whole('maxCallsPerProcess', 1);
  whole('killAfterMs', 0);
  const rss = options.maxRssMb;
  if (rss !== undefined && (typeof rss !== 'number' || !(rss > 0))) {
    throw new TypeError('options.maxRssMb must be a number > 0');
  }
  if (
    options.python !== undefined &&
    (typeof options.python !== 'string' || options.python === '')
  ) {
    throw new TypeError('options.python must be a non-empty string');
  }
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) {
    throw new TypeError('options.env must be an object');
  }
  if (options.sendAhead !== undefined && typeof options.sendAhead !== 'boolean') {
    throw new TypeError('options.sendAhead must be a boolean');
  }
}
