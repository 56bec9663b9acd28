// `make soak`: the HTTP service (in-process backend) under 10 minutes of mixed load: sizes from
// 10 to 1M values, some bad bodies, some Python errors, some clients that disconnect mid-call.
// Samples the service's RSS every 10 s and prints the curve; fails if any 5xx was answered (none
// is provoked) or if RSS grew by more than 20% between the end of warm-up (a fifth of the run)
// and the end (a generous margin: numpy's and glibc's caches settle at different moments).
//
//   SOAK_SECONDS=600 node bench/suites/soak.mjs
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { metrics, startService } from './service.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SAMPLE_MS = 10_000;
const CLIENTS = 8;

function valuesOf(size, first) {
  const values = new Float64Array(size);
  for (let i = 0; i < size; i++) values[i] = Math.random();
  values[0] = first ?? values[0];
  return values;
}
/** Log-uniform from 10 to 1M values. */
const randomSize = () => Math.round(10 ** (1 + Math.random() * 5));

/** One request; resolves to the status, or 'disconnected' if `abortAfterMs` cut it. */
function request(url, body, type, abortAfterMs) {
  return new Promise((resolve) => {
    const req = http.request(
      `${url}/detect`,
      { method: 'POST', headers: { 'content-type': type, 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', () => resolve('disconnected'));
      },
    );
    req.on('error', () => resolve('disconnected'));
    req.end(body);
    if (abortAfterMs !== undefined) setTimeout(() => req.destroy(), abortAfterMs);
  });
}

/** A request of a random kind: [kind, promise of its outcome]. */
function randomRequest(url) {
  const roll = Math.random();
  const binary = (values) => Buffer.from(values.buffer);
  if (roll < 0.05) return ['bad body', request(url, Buffer.alloc(8 * 10 + 3), 'application/octet-stream')];
  if (roll < 0.1) return ['Python error', request(url, binary(valuesOf(100, -1)), 'application/octet-stream')];
  if (roll < 0.15) {
    const body = binary(valuesOf(1_000_000));
    return ['disconnect', request(url, body, 'application/octet-stream', 2 + Math.random() * 10)];
  }
  if (roll < 0.2) {
    const body = Buffer.from(JSON.stringify(Array.from(valuesOf(randomSize() % 10_000))));
    return ['JSON', request(url, body, 'application/json')];
  }
  return ['binary', request(url, binary(valuesOf(randomSize())), 'application/octet-stream')];
} // prettier-ignore

const service = await startService({
  DETECT_MODULE: 'probe',
  DETECT_FUNCTION: 'service_probe',
  DETECT_PATH: path.join(ROOT, 'test', 'python'),
});
const end = Date.now() + SECONDS * 1000;
const outcomes = new Map(); // kind -> status -> count
const rss = [];
let serviceDown;
const sampler = setInterval(async () => {
  let sample;
  try {
    sample = await metrics(service.url);
  } catch (error) {
    serviceDown ??= error; // the service is gone: stop the run and report it
    return;
  }
  const { rssBytes, eventLoopDelayMs } = sample;
  rss.push({ s: rss.length * (SAMPLE_MS / 1000) + SAMPLE_MS / 1000, rssBytes, eventLoopDelayMs });
  const mib = (rssBytes / 2 ** 20).toFixed(1);
  process.stderr.write(`[${rss.at(-1).s}s] RSS ${mib} MiB, event loop p99 ${eventLoopDelayMs.p99.toFixed(1)} ms\n`);
}, SAMPLE_MS); // prettier-ignore

await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < end && serviceDown === undefined) {
      const [kind, outcome] = randomRequest(service.url);
      const status = await outcome;
      const byStatus = outcomes.get(kind) ?? new Map();
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      outcomes.set(kind, byStatus);
    }
  }),
);
clearInterval(sampler);
const exitCode = await service.stop();

const expected = { binary: 200, JSON: 200, 'bad body': 400, 'Python error': 422 };
let unexpected = 0;
let fiveHundreds = 0;
console.log(`\nSoak: ${SECONDS} s, ${CLIENTS} clients in a loop. Outcomes by kind of request:\n`);
for (const [kind, byStatus] of outcomes) {
  const parts = [...byStatus].map(([status, n]) => `${status}: ${n}`).join(', ');
  console.log(`- ${kind}: ${parts}`);
  for (const [status, n] of byStatus) {
    if (typeof status === 'number' && status >= 500) fiveHundreds += n;
    if (kind !== 'disconnect' && status !== expected[kind]) unexpected += n;
  }
}
const warm = rss[Math.floor(rss.length / 5)] ?? rss[0];
const last = rss.at(-1);
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
console.log(
  `\nRSS every ${SAMPLE_MS / 1000} s (MiB): ${rss.map((r) => (r.rssBytes / 2 ** 20).toFixed(0)).join(' ')}`,
);
console.log(`RSS first ${mib(rss[0].rssBytes)}, after warm-up (${warm.s} s) ${mib(warm.rssBytes)}, middle ${mib(rss[rss.length >> 1].rssBytes)}, last ${mib(last.rssBytes)}: ${(((last.rssBytes - warm.rssBytes) / warm.rssBytes) * 100).toFixed(1)}% since warm-up`); // prettier-ignore
console.log(
  `5xx: ${fiveHundreds}; unexpected statuses: ${unexpected}; service exit code ${exitCode}`,
);
if (serviceDown) console.log(`the service stopped answering: ${serviceDown.cause ?? serviceDown}`);
const ok =
  serviceDown === undefined &&
  fiveHundreds === 0 &&
  unexpected === 0 &&
  exitCode === 0 &&
  last.rssBytes <= warm.rssBytes * 1.2;
console.log(ok ? 'soak: passed' : 'soak: FAILED');
process.exit(ok ? 0 : 1);
