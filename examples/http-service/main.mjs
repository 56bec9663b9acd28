// The reference HTTP service: py-outliers as a Node service deploys it.
//
//   make service                      # or: node examples/http-service/main.mjs
//   PORT=3000 BACKEND=inprocess|grpc|http|none HOST=127.0.0.1 MAX_BODY_BYTES=67108864
//   DEADLINE_MS=10000 GRACE_MS=10000 GRPC_ADDRESS=host:port (BACKEND=grpc: connect there instead
//   of starting a server) GRPC_WORKERS=1; BACKEND=http: HTTP_BACKEND_URL, a Python service that
//   answers POST /detect (float64 in, int32 out, as bench/python/fastapi_detect.py); BACKEND=none
//   answers every request with no outliers without calling Python (the HTTP ceiling); the function: DETECT_MODULE=outliers DETECT_FUNCTION=detect
//   DETECT_PATH=dir (prepended to sys.path); METRICS=1 serves GET /metrics (the event loop's
//   delay since the last /metrics, 1 ms resolution, and the process's memory)
//
// It prints one line when it serves: `listening on http://HOST:PORT (BACKEND)`. SIGTERM or
// SIGINT: stop accepting, finish the requests in flight (up to GRACE_MS), close the detector,
// exit 0.
import http from 'node:http';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { Outliers, RemoteOutliers, startGrpcServer } from 'py-outliers';

import { createApp } from './app.mjs';

function setting(name, fallback, parse = (v) => v) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = parse(raw);
  if (value === undefined || Number.isNaN(value)) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not valid`);
  }
  return value;
}
const positive = (raw) => (/^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : undefined);
const port = (raw) => (/^\d+$/.test(raw) && Number(raw) < 65536 ? Number(raw) : undefined);

const config = {
  host: setting('HOST', '127.0.0.1'),
  port: setting('PORT', 3000, port),
  backend: setting('BACKEND', 'inprocess', (v) =>
    ['inprocess', 'grpc', 'http', 'none'].includes(v) ? v : undefined,
  ),
  maxBodyBytes: setting('MAX_BODY_BYTES', 64 * 1024 * 1024, positive),
  deadlineMs: setting('DEADLINE_MS', 10_000, positive),
  graceMs: setting('GRACE_MS', 10_000, positive),
  grpcAddress: setting('GRPC_ADDRESS', undefined),
  grpcWorkers: setting('GRPC_WORKERS', 1, positive),
  httpBackendUrl: setting('HTTP_BACKEND_URL', undefined),
  moduleName: setting('DETECT_MODULE', 'outliers'),
  funcName: setting('DETECT_FUNCTION', 'detect'),
  paths: setting('DETECT_PATH', [], (v) => [v]),
  metrics: setting('METRICS', false, (v) => v === '1'),
};

/** GET /metrics (METRICS=1): event-loop delay since the previous call, and memory. */
function metricsReporter() {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  return () => {
    const ms = (ns) => ns / 1e6;
    const report = {
      eventLoopDelayMs: {
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max),
      },
      rssBytes: process.memoryUsage.rss(),
      heapUsedBytes: process.memoryUsage().heapUsed,
    };
    delay.reset();
    return report;
  };
}

/** POST /detect to a Python HTTP service: float64 values in, int32 indices out. */
async function httpDetect(values, options) {
  const response = await fetch(`${config.httpBackendUrl}/detect`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    signal: options?.signal,
  });
  if (!response.ok) throw new Error(`the Python service answered ${response.status}`);
  return new Int32Array(await response.arrayBuffer());
}

/**
 * The backend: an AsyncDetector (detectAsync(values, { signal }) and close()), which Outliers
 * and RemoteOutliers both are, so the handler does not know which it has.
 */
async function openBackend() {
  if (config.backend === 'none') {
    return { detectAsync: async () => new Int32Array(0), close() {} };
  }
  if (config.backend === 'http') {
    if (config.httpBackendUrl === undefined) throw new Error('BACKEND=http needs HTTP_BACKEND_URL');
    return { detectAsync: httpDetect, close() {} };
  }
  if (config.backend === 'inprocess') {
    // Starts Python and imports the function: ready after it.
    return new Outliers(config.moduleName, config.funcName, { paths: config.paths });
  }
  const server = config.grpcAddress
    ? undefined
    : await startGrpcServer({
        workers: config.grpcWorkers,
        moduleName: config.moduleName,
        funcName: config.funcName,
        paths: config.paths,
      });
  const remote = new RemoteOutliers(config.grpcAddress ?? server.address, {
    deadlineMs: config.deadlineMs,
  });
  await remote.detectAsync(new Float64Array([1])); // reachable (the server imported the function)
  if (server === undefined) return remote;
  // The server this process started stops with it.
  return {
    detectAsync: (values, options) => remote.detectAsync(values, options),
    close: async () => {
      remote.close();
      await server.stop();
    },
  };
}

const backend = await openBackend();
let draining = false;
const server = http.createServer(
  createApp({
    backend,
    draining: () => draining,
    maxBodyBytes: config.maxBodyBytes,
    deadlineMs: config.deadlineMs,
    onError: (error) => console.error('request failed:', error),
    metrics: config.metrics ? metricsReporter() : undefined,
  }),
);
server.listen(config.port, config.host);
await once(server, 'listening');
const { port: actualPort } = server.address();
console.log(`listening on http://${config.host}:${actualPort} (${config.backend})`);

async function shutDown(signal) {
  if (draining) return;
  draining = true;
  console.log(`${signal}: finishing the requests in flight`);
  const closed = new Promise((resolve) => server.close(resolve)); // stop accepting
  server.closeIdleConnections(); // keep-alive connections with no request now
  const grace = setTimeout(() => server.closeAllConnections(), config.graceMs);
  await closed;
  clearTimeout(grace);
  await backend.close();
  console.log('stopped');
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void shutDown(signal));
