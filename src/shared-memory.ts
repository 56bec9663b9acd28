/**
 * The pool addon (native/pool/): memory shared with worker processes, and the CPU count. It
 * loads no libpython, so a ProcessPool runs with any CPython; Node-API only, so one binary
 * serves every Node line: the package's prebuilt one for this system's libc, or a source build.
 * @internal
 */
import fs from 'node:fs';
import path from 'node:path';

import { familySync } from 'detect-libc';

import { FIX_SOURCE, prebuildsDir } from './prebuilt.js';

export interface PoolAddon {
  /** A new memfd of `bytes` bytes, mapped shared: its fd, and the memory (which owns both). */
  createRegion(bytes: number): [number, ArrayBuffer];
  /** A worker's result file (/proc/<pid>/fd/<n>), mapped copy-on-write. */
  mapFile(path: string, bytes: number): ArrayBuffer;
  /** The CPUs this process may use: affinity mask and cgroup quota (native/runtime/cpu_budget.h). */
  usableCpus(): number;
  /** Kill `pid` (SIGKILL) if this environment (the process, or a Worker) ends while it lives. */
  watchProcess(pid: number): void;
  /** `pid` has exited: forget it. */
  unwatchProcess(pid: number): void;
  /** The low-latency mode's window for `us`: `us`, or 0 where the process may use one CPU only. */
  lowLatencyWindowUs(us: number): number;
  /** A call was sent: this environment's event loop polls for `windowUs` (native/pool/low_latency.h). */
  pollSubmitted(windowUs: number): void;
  /** No call is in flight in this environment: the polling stops. */
  pollIdle(): void;
}

const ROOT = path.resolve(__dirname, '..');
let loaded: PoolAddon | undefined;

/** The pool addon, loaded once: a source build first (it is the newer), else the prebuilt one. */
export function poolAddon(): PoolAddon {
  if (loaded !== undefined) return loaded;
  const candidates = [path.join(ROOT, 'build', 'Release', 'py_outliers_pool.node')];
  const prebuilt = prebuildsDir();
  if (prebuilt !== undefined) {
    candidates.push(path.join(prebuilt, `py_outliers_pool.${familySync() ?? 'glibc'}.node`));
  }
  const file = candidates.find((candidate) => fs.existsSync(candidate));
  if (file === undefined) {
    throw new Error(
      `py-outliers: no pool addon (py_outliers_pool.node) for ${process.platform}-` +
        `${process.arch}; build it: ${FIX_SOURCE}`,
    );
  }
  loaded = require(file) as PoolAddon;
  return loaded;
}
