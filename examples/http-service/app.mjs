// The reference HTTP service's request handling, on node:http: POST /detect, GET /healthz,
// GET /readyz. main.mjs chooses the backend, listens, and shuts down; this file only answers.
//
// Every refusal is a JSON body {"error": ..., "message": ...} with its status, and the service
// goes on serving after each. Internals (tracebacks, stack traces) never reach a client.
import { AbortError, PythonError, RemoteError } from 'py-outliers';

/** A refusal: the status and the JSON body a client gets. */
class HttpError extends Error {
  constructor(status, error, message) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

/** The media type of a Content-Type header, lower case, without its parameters. */
function mediaType(header) {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * The request body as one Buffer, refused with 413 as soon as it passes `maxBytes`, whether
 * Content-Length announced it or the bytes themselves did: nothing past the limit is buffered.
 */
function readBody(req, maxBytes) {
  const tooLarge = () =>
    new HttpError(413, 'PayloadTooLarge', `the body is over the limit of ${maxBytes} bytes`);
  if (Number(req.headers['content-length']) > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks = [];
    let length = 0;
    const settle = (error) => {
      req.off('data', onData).off('end', onEnd).off('error', settle).off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, length));
    };
    const onData = (chunk) => {
      length += chunk.length;
      if (length > maxBytes) settle(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => settle();
    const onClose = () => settle(new Error('the client disconnected while sending'));
    req.on('data', onData).on('end', onEnd).on('error', settle).on('close', onClose);
  });
}

/** Raw little-endian float64 values, copied into memory of their own (8-byte aligned). */
function binaryValues(body) {
  if (body.length % 8 !== 0) {
    throw new HttpError(
      400,
      'BadRequest',
      `an application/octet-stream body holds little-endian float64 values: ${body.length} bytes is not a multiple of 8`,
    );
  }
  const values = new Float64Array(body.length / 8);
  Buffer.from(values.buffer).set(body);
  return values;
}

/** `[1.5, 2, ...]` or `{"values": [...]}`: finite numbers only. */
function jsonValues(body) {
  let parsed;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'BadRequest', 'the body is not valid JSON');
  }
  const list = Array.isArray(parsed) ? parsed : parsed?.values;
  if (!Array.isArray(list)) {
    throw new HttpError(
      400,
      'BadRequest',
      'a JSON body is an array of numbers, or an object {"values": [...]}',
    );
  }
  const values = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const value = list[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new HttpError(400, 'BadRequest', `values[${i}] is not a finite number`);
    }
    values[i] = value;
  }
  return values;
}

/** What a failed detect call becomes for the client; never its traceback. */
function refusalOf(error, deadlineMs) {
  if (error instanceof HttpError) return error;
  if (error instanceof PythonError) {
    return new HttpError(422, 'PythonError', `${error.type}: ${error.message}`);
  }
  if (error instanceof AbortError && error.cause?.name === 'TimeoutError') {
    return new HttpError(504, 'DeadlineExceeded', `no result within ${deadlineMs} ms`);
  }
  if (error instanceof RemoteError) {
    return new HttpError(503, 'BackendUnavailable', 'the detection backend is unavailable');
  }
  return new HttpError(500, 'InternalError', 'the request failed');
}

/**
 * The request handler.
 *
 * @param {object} options
 * @param {import('py-outliers').AsyncDetector} options.backend
 * @param {() => boolean} options.draining - shutting down: readyz says not ready, and each
 *   connection closes after its answer (so that the server's close() need not wait for
 *   keep-alive clients to go idle)
 * @param {number} options.maxBodyBytes
 * @param {number} options.deadlineMs - per request, from the moment its body is read
 * @param {(error: unknown) => void} [options.onError] - unexpected (500) errors, for the log
 * @param {() => object} [options.metrics] - if given, GET /metrics answers with it
 */
export function createApp({
  backend,
  draining,
  maxBodyBytes,
  deadlineMs,
  onError = () => {},
  metrics,
}) {
  function sendJson(res, status, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...(draining() ? { connection: 'close' } : {}),
    });
    res.end(text);
  }

  async function detect(req, res) {
    const type = mediaType(req.headers['content-type']);
    if (type !== 'application/octet-stream' && type !== 'application/json') {
      throw new HttpError(
        415,
        'UnsupportedMediaType',
        'send application/octet-stream (little-endian float64) or application/json',
      );
    }
    const body = await readBody(req, maxBodyBytes);
    const values = type === 'application/json' ? jsonValues(body) : binaryValues(body);
    // The call's signal: the deadline, or the client going away first.
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) gone.abort(new Error('the client disconnected'));
    };
    res.once('close', onClose);
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(deadlineMs), gone.signal]);
      const indices = await backend.detectAsync(values, { signal });
      sendJson(res, 200, { indices: Array.from(indices) });
    } finally {
      res.removeListener('close', onClose);
    }
  }

  async function handle(req, res) {
    const { pathname } = new URL(req.url ?? '/', 'http://service');
    if (pathname === '/detect') {
      if (req.method !== 'POST') throw new HttpError(405, 'MethodNotAllowed', 'use POST');
      return detect(req, res);
    }
    if (pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendJson(res, 200, { status: 'ok' });
    }
    if (pathname === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
      // Ready from the start: the backend is open (Python started, the function imported)
      // before the server listens.
      return draining()
        ? sendJson(res, 503, { status: 'draining' })
        : sendJson(res, 200, { status: 'ready' });
    }
    if (pathname === '/metrics' && metrics !== undefined && req.method === 'GET') {
      return sendJson(res, 200, metrics());
    }
    throw new HttpError(404, 'NotFound', `no route for ${req.method} ${pathname}`);
  }

  return (req, res) => {
    handle(req, res).catch((error) => {
      // The client went away (mid-body or mid-call, its call cancelled): nobody to answer, and
      // nothing went wrong here.
      if (res.destroyed || res.headersSent) return;
      const refusal = refusalOf(error, deadlineMs);
      if (refusal.status === 500) onError(error);
      if (!req.complete) {
        // A refused body may still be arriving: answer, close the connection after the answer,
        // and drop what arrives meanwhile (unread bytes at close would reset the connection
        // before the client reads the answer).
        res.setHeader('connection', 'close');
        req.resume();
      }
      sendJson(res, refusal.status, { error: refusal.error, message: refusal.message });
    });
  };
}
