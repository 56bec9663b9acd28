// The reference HTTP service (examples/http-service) in a child process, as it is deployed.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';

import { afterAll, describe, expect, it } from 'vitest';

import { PROBE_DIR, ROOT, seedCase } from '../helpers.js';

const MAIN = path.join(ROOT, 'examples', 'http-service', 'main.mjs');

interface Service {
  child: ChildProcess;
  url: string;
  output: string[];
  exited: Promise<number | null>;
}
const services: Service[] = [];
afterAll(() => {
  for (const s of services) s.child.kill('SIGKILL');
});

/** Starts the service on a free port with the test probe function; resolves once it serves. */
async function startService(env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      PORT: '0',
      DETECT_MODULE: 'probe',
      DETECT_FUNCTION: 'service_probe',
      DETECT_PATH: PROBE_DIR,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const lines = readline.createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      output.push(line);
      const match = /^listening on (http:\/\/\S+) /.exec(line);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${output.join('\n')}`)));
  });
  const service = { child, url, output, exited };
  services.push(service);
  return service;
}

const bytes = (values: Float64Array): Buffer =>
  Buffer.from(values.buffer, values.byteOffset, values.byteLength);

async function post(url: string, body: string | Buffer, type: string) {
  const response = await fetch(`${url}/detect`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const postBinary = (url: string, values: Float64Array) =>
  post(url, bytes(values), 'application/octet-stream');

let shared: Service | undefined;
const inprocess = async () => (shared ??= await startService({ MAX_BODY_BYTES: '65536' }));

describe('the HTTP service, in-process backend', () => {
  it('finds the seed outliers from binary and from JSON bodies', async () => {
    const { url } = await inprocess();
    const expected = { status: 200, body: { indices: [7, 113, 835] } };
    expect(await postBinary(url, seedCase())).toEqual(expected);
    const list = JSON.stringify(Array.from(seedCase()));
    expect(await post(url, list, 'application/json')).toEqual(expected);
    expect(await post(url, `{"values":${list}}`, 'application/json; charset=utf-8')).toEqual(
      expected,
    );
    expect(await postBinary(url, new Float64Array(0))).toEqual({
      status: 200,
      body: { indices: [] },
    });
  });

  it('answers healthz and readyz', async () => {
    const { url } = await inprocess();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('refuses each bad request with its status and a JSON error, and serves the next', async () => {
    const { url } = await inprocess();
    const cases: [string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, RegExp][] = [
      ['12 bytes', () => post(url, Buffer.alloc(12), 'application/octet-stream'), 400, /multiple of 8/],
      ['not JSON', () => post(url, '[1,', 'application/json'), 400, /not valid JSON/],
      ['a string', () => post(url, '[1, "2"]', 'application/json'), 400, /values\[1\] is not a finite number/],
      ['null', () => post(url, '{"values": [1, null]}', 'application/json'), 400, /values\[1\]/],
      ['an object', () => post(url, '{"v": []}', 'application/json'), 400, /array of numbers/],
      ['text/plain', () => post(url, '1 2 3', 'text/plain'), 415, /octet-stream/],
      ['over the limit', () => post(url, Buffer.alloc(65544), 'application/octet-stream'), 413, /65536 bytes/],
      ['Python raises', () => postBinary(url, new Float64Array([-1, 0])), 422, /^ValueError: the first value is -1$/],
      ['a bad result', () => postBinary(url, new Float64Array([-3])), 500, /^the request failed$/],
    ]; // prettier-ignore
    for (const [name, send, status, message] of cases) {
      const answer = await send();
      expect(answer.status, name).toBe(status);
      expect(answer.body.message, name).toMatch(message);
      expect(JSON.stringify(answer.body), name).not.toMatch(/Traceback|\.py|at /);
      expect((await postBinary(url, seedCase())).status, `after ${name}`).toBe(200);
    }
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/detect`)).status).toBe(405);
  });

  it('refuses a chunked body as soon as it passes the limit, without reading it all', async () => {
    const { url } = await inprocess();
    const { port } = new URL(url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { port, path: '/detect', method: 'POST', headers: { 'content-type': 'application/octet-stream' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      ); // prettier-ignore
      req.on('error', reject);
      // 40 KiB chunks, with no end: the answer must come while the body is still open.
      const chunk = Buffer.alloc(40 * 1024);
      const timer = setInterval(() => req.write(chunk), 5);
      req.once('response', () => {
        clearInterval(timer);
        req.destroy();
      });
    });
    expect(answer.status).toBe(413);
    expect((await postBinary(url, seedCase())).status).toBe(200);
  });
});

describe('the HTTP service: deadlines, disconnects, shutdown', () => {
  it('cancels the call when the client disconnects, and the service goes on', async () => {
    // One Python thread: if the 30 s call were not interrupted, the next call would wait for it.
    const service = await startService({ PY_OUTLIERS_THREADS: '1' });
    const { port } = new URL(service.url);
    const req = http.request({
      port,
      path: '/detect',
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
    });
    req.on('error', () => {});
    req.end(bytes(new Float64Array([-4, 30]))); // spins in bytecode for 30 s
    await new Promise((r) => setTimeout(r, 500));
    req.destroy();
    const t0 = Date.now();
    expect(await postBinary(service.url, seedCase())).toEqual({
      status: 200,
      body: { indices: [7, 113, 835] },
    });
    expect(Date.now() - t0).toBeLessThan(10_000); // far below the 30 s call
  }, 30_000);

  it('answers 504 at the deadline', async () => {
    const service = await startService({ DEADLINE_MS: '800' });
    const t0 = Date.now();
    const answer = await postBinary(service.url, new Float64Array([-4, 20]));
    expect(answer).toEqual({
      status: 504,
      body: { error: 'DeadlineExceeded', message: 'no result within 800 ms' },
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await postBinary(service.url, seedCase())).status).toBe(200);
  }, 30_000);

  it('on SIGTERM finishes the request in flight, refuses new connections, and exits 0', async () => {
    const service = await startService();
    const slow = postBinary(service.url, new Float64Array([-2, 1.5])); // sleeps 1.5 s
    await new Promise((r) => setTimeout(r, 400));
    service.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow(); // no longer accepting
    expect(await slow).toEqual({ status: 200, body: { indices: [] } });
    expect(await service.exited).toBe(0);
  }, 30_000);
});

describe('the HTTP service, gRPC backend', () => {
  it('serves the same answers through RemoteOutliers and its own gRPC server', async () => {
    const service = await startService({ BACKEND: 'grpc' });
    expect(service.output.join('\n')).toMatch(/\(grpc\)/);
    expect(await postBinary(service.url, seedCase())).toEqual({
      status: 200,
      body: { indices: [7, 113, 835] },
    });
    const error = await postBinary(service.url, new Float64Array([-1, 0]));
    expect(error).toEqual({
      status: 422,
      body: { error: 'PythonError', message: 'ValueError: the first value is -1' },
    });
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  }, 60_000);
});
