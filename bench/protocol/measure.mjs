// Timing shared by every benchmark family: warm-up, batches for sub-microsecond calls,
// a time budget per cell, and robust statistics (median, min, max).
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export const QUICK = process.env.BENCH_QUICK === '1';
export const SIZES = QUICK ? [0, 1000, 100_000] : [0, 10, 1000, 100_000, 1_000_000, 10_000_000];
/** Time spent sampling one cell in all, ms, spread over ROUNDS interleaved rounds. */
export const BUDGET_MS = QUICK ? 60 : 1500;
export const ROUNDS = QUICK ? 2 : 10;
/** 10M values over gRPC take 4-8 s a call: fewer rounds there keep the run under 5 minutes. */
export const roundsFor = (size) => (size >= 10_000_000 ? Math.min(ROUNDS, 4) : ROUNDS);
/** Samples per round at least, however slow the call (10M over gRPC takes seconds). */
export const MIN_SAMPLES_PER_ROUND = 1;
const MAX_SAMPLES = 2000;
/** A sample lasts at least this long (fast calls are batched), so timer noise is small. */
const SAMPLE_TARGET_MS = 1;

/**
 * The benchmark's input: uniform values in [0, 1) with a few large spikes (so the result is
 * not empty) and, for size 0, a single value: size 0 is the call-overhead row, run with a
 * trivial function, because an empty input never reaches Python.
 */
export function makeInput(size) {
  const length = Math.max(size, 1);
  const values = new Float64Array(length);
  let state = 1;
  for (let i = 0; i < length; i++) {
    state = (state * 16807) % 2147483647;
    values[i] = state / 2147483647;
  }
  for (let i = 7; i < length; i += 1000) values[i] += 97;
  return values;
}

/** Median, min and max of per-call samples in µs. */
export function summarize(samplesUs) {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianUs: median, minUs: sorted[0], maxUs: sorted.at(-1), samples: sorted.length };
}

/**
 * Times a synchronous call for about `budgetMs` (at least `minSamples` samples). Returns the
 * per-call µs of each sample; fast calls are batched so one sample lasts about 1 ms, unless
 * `perCall` (a sample per call, the last calls made).
 */
export function measureSync(fn, budgetMs, minSamples, perCall = false) {
  const warmUntil = performance.now() + Math.min(30, budgetMs / 4);
  for (let warm = 0; warm < 2 || performance.now() < warmUntil; warm++) fn();
  let t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 1e-4);
  const batch = perCall ? 1 : Math.max(1, Math.min(100_000, Math.floor(SAMPLE_TARGET_MS / once)));
  const samples = [];
  const end = performance.now() + budgetMs;
  while (samples.length < minSamples || (performance.now() < end && samples.length < MAX_SAMPLES)) {
    t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    samples.push(((performance.now() - t0) * 1000) / batch);
  }
  return samples;
}

/** Times an async call, one at a time (latency, not throughput). */
export async function measureAsync(fn, budgetMs, minSamples) {
  const warmUntil = performance.now() + Math.min(30, budgetMs / 4);
  for (let warm = 0; warm < 1 || performance.now() < warmUntil; warm++) await fn();
  const samples = [];
  const end = performance.now() + budgetMs;
  while (samples.length < minSamples || (performance.now() < end && samples.length < MAX_SAMPLES)) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) * 1000);
  }
  return samples;
}

/**
 * Serves measurement requests: one JSON object per stdin line in, one per stdout line out.
 * `handlers[request.op](request)` answers. The orchestrator (run.mjs) interleaves requests to
 * several such processes, so the families are measured side by side in time.
 */
export function serveRequests(handlers) {
  let chain = Promise.resolve();
  let buffered = '';
  process.stdin.setEncoding('utf8').on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.trim()) continue;
      chain = chain.then(async () => {
        const request = JSON.parse(line);
        try {
          process.stdout.write(
            `${JSON.stringify({ ok: true, ...(await handlers[request.op](request)) })}\n`,
          );
        } catch (error) {
          process.stdout.write(
            `${JSON.stringify({ ok: false, error: String(error?.stack ?? error) })}\n`,
          );
        }
      });
    }
  });
  process.stdin.on('end', () => chain.then(() => process.exit(0)));
}

/** The machine's CPUs, as /proc/stat counts them. */
export const CPUS = os.cpus().length;

/** The machine's CPU time so far, from /proc/stat: { busy, total } in clock ticks. */
export function machineCpu() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = fields.slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3] - ticks[4], total };
}

/** The share of every CPU's time that was busy between two machineCpu() readings. */
export const machineBusy = (before, after) =>
  (after.busy - before.busy) / Math.max(1, after.total - before.total);
