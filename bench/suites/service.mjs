// The reference HTTP service (examples/http-service) under load from autocannon: what a
// service gains from in-process calls, in requests/s and tail latency. Used by run.mjs (the
// service section of `make bench`) and soak.mjs.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import autocannon from 'autocannon';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(ROOT, 'examples', 'http-service', 'main.mjs');

/**
 * Starts the service in a child process on a free port, with GET /metrics; resolves once it
 * serves to { url, pid, stop() } (stop: SIGTERM, then its exit code).
 */
export async function startService(env = {}) {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: '0', METRICS: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+) /.exec(line);
      if (match) resolve(match[1]);
    });
    exited.then((code) => reject(new Error(`the service exited with code ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The service's /metrics (and a reset of its event-loop histogram). */
export async function metrics(url) {
  return (await fetch(`${url}/metrics`)).json();
}

/** autocannon against POST /detect with `body` (binary float64), for `seconds`. */
export async function load(url, { connections, seconds, body }) {
  const result = await autocannon({
    url: `${url}/detect`,
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body,
    connections,
    duration: seconds,
  });
  return {
    connections,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** `size` values as a binary body, one of them an outlier, the same for every request. */
export function bodyOf(size) {
  const values = new Float64Array(size);
  for (let i = 0; i < size; i++) values[i] = ((i * 7919) % 1000) / 1000;
  values[size >> 1] = 1000;
  return Buffer.from(values.buffer);
}

/**
 * bench/python/fastapi_detect.py under uvicorn (uvloop, httptools) on a free port, with `python`;
 * resolves once it serves to { url, stop() }.
 */
export async function startFastApi(python) {
  const child = spawn(
    python,
    [
      '-m',
      'uvicorn',
      'fastapi_detect:app',
      '--app-dir',
      path.join(ROOT, 'bench', 'python'),
      '--loop',
      'uvloop',
      '--http',
      'httptools',
      '--no-access-log',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ],
    {
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'python') },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  let log = '';
  const url = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      log += `${line}\n`;
      const match = /Uvicorn running on (http:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    exited.then((code) => reject(new Error(`uvicorn exited with code ${code}:\n${log}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The service's backends in the bench, with what each needs started beside it. */
const BACKENDS = {
  none: 'none: no Python (the HTTP ceiling)',
  inprocess: 'inprocess (detectAsync)',
  grpc: 'grpc (RemoteOutliers)',
  http: 'http (FastAPI + uvicorn, over HTTP)',
};
export const backendLabel = (backend) => BACKENDS[backend] ?? backend;

/**
 * Each backend's service at each connection count: requests/s, latency percentiles, and the
 * event-loop delay inside the service while it ran. `python`: the interpreter for FastAPI.
 */
export async function serviceLoad({ quick, progress, python }) {
  const levels = quick ? [16] : [1, 16, 64];
  const seconds = quick ? 1 : 10;
  const size = 1000;
  const body = bodyOf(size);
  const rows = [];
  for (const backend of Object.keys(BACKENDS)) {
    progress(`service: starting BACKEND=${backend}`);
    const fastApi = backend === 'http' ? await startFastApi(python) : undefined;
    const service = await startService({
      BACKEND: backend,
      ...(fastApi && { HTTP_BACKEND_URL: fastApi.url }),
    }).catch(async (error) => {
      await fastApi?.stop();
      throw error;
    });
    try {
      if (!quick) await load(service.url, { connections: 16, seconds: 2, body }); // warm-up
      for (const connections of levels) {
        progress(`service: BACKEND=${backend}, ${connections} connections, ${seconds} s`);
        await metrics(service.url); // resets the histogram
        const row = await load(service.url, { connections, seconds, body });
        const { eventLoopDelayMs } = await metrics(service.url);
        rows.push({ backend, ...row, eventLoopP99Ms: eventLoopDelayMs.p99 });
      }
    } finally {
      const code = await service.stop();
      await fastApi?.stop();
      if (code !== 0) throw new Error(`the ${backend} service exited with code ${code}`);
    }
  }
  return { size, seconds, rows };
}

/**
 * How many times more requests/s the in-process service serves at the same p99: for each
 * gRPC row, the most requests/s in-process at any load whose p99 was no worse, over gRPC's.
 */
export function sameP99Ratios(rows) {
  const inprocess = rows.filter((r) => r.backend === 'inprocess');
  return rows
    .filter((r) => r.backend === 'grpc')
    .map((g) => {
      const fits = inprocess.filter((r) => r.p99Ms <= g.p99Ms);
      const best = Math.max(0, ...fits.map((r) => r.requestsPerSecond));
      return { connections: g.connections, p99Ms: g.p99Ms, ratio: best / g.requestsPerSecond };
    });
}
