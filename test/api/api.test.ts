// The API habits Node users expect: a string `code` on every error, `using` / `await using`
// where there is a close() or stop(), one async interface for the in-process and the remote
// detector.
import { describe, expect, it } from 'vitest';

import {
  AbortError,
  ClosedError,
  Outliers,
  PythonError,
  PythonFunction,
  PythonStartError,
  RemoteError,
  RemoteOutliers,
  ResultError,
  runtimeInfo,
  startGrpcServer,
  type AsyncDetector,
} from '../../src/index.js';
import { seedCase } from '../helpers.js';

describe('errors', () => {
  it('every error class has a string code and its own name', () => {
    const errors: [Error & { code: unknown }, string, string][] = [
      [new PythonError('m', 'ValueError', 'tb'), 'PythonError', 'ERR_PY_OUTLIERS_PYTHON'],
      [new ResultError('m'), 'ResultError', 'ERR_PY_OUTLIERS_RESULT'],
      [new ClosedError(), 'ClosedError', 'ERR_PY_OUTLIERS_CLOSED'],
      [new RemoteError('m', 14), 'RemoteError', 'ERR_PY_OUTLIERS_REMOTE'],
      [new PythonStartError('m'), 'PythonStartError', 'ERR_PY_OUTLIERS_PYTHON_START'],
      [new AbortError(), 'AbortError', 'ABORT_ERR'],
    ];
    for (const [error, name, code] of errors) {
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
    }
    expect(new RemoteError('m', 14).grpcStatus).toBe(14);
  });

  it('errors the library throws carry their codes', async () => {
    const o = new Outliers('probe', 'raise_value_error', { paths: [`${__dirname}/../python`] });
    expect(() => o.detect(seedCase())).toThrow(
      expect.objectContaining({ code: 'ERR_PY_OUTLIERS_PYTHON' }),
    );
    const bad = new PythonFunction('builtins', 'set');
    expect(() => bad.call([[1]])).toThrow(
      expect.objectContaining({ code: 'ERR_PY_OUTLIERS_RESULT' }),
    );
    o.close();
    await expect(o.detectAsync(seedCase())).rejects.toMatchObject({
      code: 'ERR_PY_OUTLIERS_CLOSED',
    });
  });

  it('runtimeInfo() is typed as it is', () => {
    const info = runtimeInfo();
    expect(typeof info.pythonThreads).toBe('number');
    expect(typeof info.usableCpus).toBe('number');
    expect(typeof info.mallocTuning).toBe('boolean');
    expect(typeof info.pythonVersion).toBe('string');
  });
});

describe('using and await using', () => {
  it('using closes Outliers and PythonFunction at the end of the block', () => {
    let outliers: Outliers;
    let fn: PythonFunction;
    {
      using o = new Outliers();
      using f = new PythonFunction('numpy', 'median');
      expect(Array.from(o.detect(seedCase()))).toEqual([7, 113, 835]);
      expect(f.call([Float64Array.from([1, 2, 3])])).toBe(2);
      outliers = o;
      fn = f;
    }
    expect(() => outliers.detect(seedCase())).toThrow(ClosedError);
    expect(() => fn.call([])).toThrow(ClosedError);
  });

  it('await using stops a gRPC server; using closes a RemoteOutliers', async () => {
    let pid = 0;
    let client: RemoteOutliers;
    {
      await using server = await startGrpcServer();
      using remote = new RemoteOutliers(server.address);
      pid = server.pid;
      expect(Array.from(await remote.detect(seedCase()))).toEqual([7, 113, 835]);
      client = remote;
    }
    await expect(client.detect(seedCase())).rejects.toThrow(ClosedError);
    expect(() => process.kill(pid, 0)).toThrow(); // the server's process is gone
  });
});

describe('one async interface', () => {
  // What a service would write once, for either detector.
  const serve = (detector: AsyncDetector) => (values: Float64Array) =>
    detector.detectAsync(values, { signal: AbortSignal.timeout(10_000) });

  it('Outliers and RemoteOutliers both implement AsyncDetector, with the same answers', async () => {
    await using server = await startGrpcServer();
    using local = new Outliers();
    using remote = new RemoteOutliers(server.address);
    const values = seedCase();
    const answers = await Promise.all([local, remote].map((d) => serve(d)(values)));
    expect(answers.map((a) => Array.from(a))).toEqual([
      [7, 113, 835],
      [7, 113, 835],
    ]);
  });
});
