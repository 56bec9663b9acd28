// The libraries users plug into py-outliers (scikit-learn, pandas, scipy, joblib) give inside
// Node exactly what they give in plain Python. Needs a venv of the build's Python holding them:
// `make test-libraries` makes one and runs this file with PY_OUTLIERS_TEST_LIBRARIES_PYTHON
// naming it; elsewhere it is skipped.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { startGrpcServer } from '../../src/index.js';
import { PACKAGE_ENTRY, PROBE_DIR, ROOT, runNode, seedCase, uniform } from '../helpers.js';

const python = process.env['PY_OUTLIERS_TEST_LIBRARIES_PYTHON'];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'py-outliers-libraries-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const values = seedCase();
const input = path.join(scratch, 'values.f64');
fs.writeFileSync(input, Buffer.from(values.buffer));

function plainPython(func: string): number[] {
  const script =
    `import sys, json, numpy as np; sys.path.insert(0, ${JSON.stringify(PROBE_DIR)})\n` +
    `import libraries\n` +
    `print(json.dumps([int(i) for i in libraries.${func}(np.fromfile(sys.argv[1], dtype="<f8"))]))`;
  const run = spawnSync(python!, ['-c', script, input], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as number[];
}

async function inNode(
  func: string,
  method: 'detect' | 'detectAsync',
  pooled = false,
): Promise<number[]> {
  const env: NodeJS.ProcessEnv = { ...process.env, PY_OUTLIERS_PYTHON: python };
  delete env['PYTHONUNBUFFERED'];
  const run = await runNode(
    `const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
     // A Buffer from readFileSync may sit inside a larger pooled ArrayBuffer (Node 26 does so).
     const bytes = require('fs').readFileSync(${JSON.stringify(input)});
     const values = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
     const pool = ${pooled} ? new lib.ProcessPool({ processes: 1 }) : undefined;
     const o = new lib.Outliers('libraries', ${JSON.stringify(func)}, { paths: [${JSON.stringify(PROBE_DIR)}], pool });
     Promise.resolve(o.${method}(values)).then((r) => { console.log(JSON.stringify(Array.from(r))); return pool?.close(); });`,
    { env },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as number[];
}

describe.runIf(python)('libraries inside py-outliers agree with plain Python', () => {
  for (const func of [
    'isolation_forest',
    'isolation_forest_processes',
    'rolling_robust_z',
    'scipy_zscore',
  ]) {
    it(func, async () => {
      const expected = plainPython(func);
      for (const i of [7, 113, 835]) expect(expected).toContain(i); // the seeded outliers
      expect(await inNode(func, 'detect')).toEqual(expected);
      expect(await inNode(func, 'detectAsync')).toEqual(expected);
      expect(await inNode(func, 'detectAsync', true)).toEqual(expected); // a worker process
    });
  }
});

// The real functions through PythonFunction, each against plain Python on the same data.
describe.runIf(python)('PythonFunction on real library functions agrees with plain Python', () => {
  const x = uniform(2000, 3).map((v, i) => Math.sin(i / 7) + 0.3 * v);
  const matrix = uniform(80_000, 5);
  const embeddings = Float32Array.from(uniform(384_000, 9));
  fs.writeFileSync(path.join(scratch, 'x.f64'), Buffer.from(x.buffer));
  fs.writeFileSync(path.join(scratch, 'matrix.f64'), Buffer.from(matrix.buffer));
  fs.writeFileSync(path.join(scratch, 'embeddings.f32'), Buffer.from(embeddings.buffer));

  it.each([
    ['in-process', 'inprocess'],
    ['in a worker process', 'pool'],
    ['on a server', 'remote'],
  ])(
    'IsolationForest scores, find_peaks, a float32 norm, percentile and median, %s',
    async (_, where) => {
      const script =
        `import sys, json; sys.path.insert(0, ${JSON.stringify(PROBE_DIR)})\n` +
        `import libraries\n` +
        `print(json.dumps(libraries.plain_python_answers(sys.argv[1])))`;
      const plain = spawnSync(python!, ['-c', script, scratch], { encoding: 'utf8' });
      expect(plain.stderr).toBe('');
      const expected = JSON.parse(plain.stdout) as Record<string, unknown>;

      const env: NodeJS.ProcessEnv = { ...process.env, PY_OUTLIERS_PYTHON: python };
      delete env['PYTHONUNBUFFERED'];
      // A server of the libraries' venv, exporting what the calls name (and nothing else).
      const server =
        where === 'remote'
          ? await startGrpcServer({
              python: python!,
              paths: [PROBE_DIR],
              exports: [
                'libraries:isolation_scores',
                'scipy.signal:find_peaks',
                'numpy:linalg.norm',
                'numpy:percentile',
                'numpy:median',
              ],
            })
          : undefined;
      const run = await runNode(
        `const { PythonFunction, ProcessPool, ndarray } = require(${JSON.stringify(PACKAGE_ENTRY)});
       const fs = require('fs');
       (async () => {
       const pool = ${where === 'pool'} ? new ProcessPool({ processes: 2 }) : undefined;
       const remote = ${JSON.stringify(server?.address)};
       const place = pool ? { pool } : remote ? { remote } : {};
       const paths = remote ? {} : { paths: [${JSON.stringify(PROBE_DIR)}] };
       const run = (f, args, kwargs) => (pool || remote ? f.callAsync(args, kwargs) : f.call(args, kwargs));
       const read = (name, Kind) => { const b = fs.readFileSync(${JSON.stringify(scratch)} + '/' + name);
         return new Kind(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
       const x = read('x.f64', Float64Array);
       const X = ndarray(read('matrix.f64', Float64Array), [10000, 8]);
       const E = ndarray(read('embeddings.f32', Float32Array), [1000, 384]);
       const scores = await run(new PythonFunction('libraries', 'isolation_scores', { ...paths, ...place }), [X]);
       const [peaks, props] = await run(new PythonFunction('scipy.signal', 'find_peaks', place), [x], { height: 0.5, distance: 5 });
       const norms = await run(new PythonFunction('numpy', 'linalg.norm', place), [E], { axis: 1 });
       const pct = await run(new PythonFunction('numpy', 'percentile', place), [x, [5, 50, 95]]);
       const median = await run(new PythonFunction('numpy', 'median', place), [x]);
       const kinds = [scores, peaks, props.peak_heights, norms, pct].map((a) => a.constructor.name + ':' + a.length);
       console.log(JSON.stringify({ kinds, typeofMedian: typeof median, answers: {
         isolation: Array.from(scores), peaks: [Array.from(peaks, Number), { peak_heights: Array.from(props.peak_heights) }],
         norms: Array.from(norms), percentiles: Array.from(pct), median } }));
       await pool?.close();
       })();`,
        { env },
      );
      await server?.stop();
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const got = JSON.parse(run.stdout) as {
        kinds: string[];
        typeofMedian: string;
        answers: unknown;
      };
      const peakCount = (expected['peaks'] as number[][])[0]!.length;
      expect(peakCount).toBeGreaterThan(10);
      expect(got.kinds).toEqual([
        'Float64Array:10000',
        `BigInt64Array:${peakCount}`,
        `Float64Array:${peakCount}`,
        'Float32Array:1000',
        'Float64Array:3',
      ]);
      expect(got.typeofMedian).toBe('number');
      expect(got.answers).toEqual(expected);
    },
  );
});

describe.runIf(python)('examples/functions', () => {
  it('runs each call of the README', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PY_OUTLIERS_PYTHON: python };
    delete env['PYTHONUNBUFFERED'];
    const run = spawnSync(
      process.execPath,
      [path.join(ROOT, 'examples', 'functions', 'main.mjs')],
      {
        encoding: 'utf8',
        env,
        timeout: 60_000,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^isolation scores: Float64Array\(10000\)/m);
    expect(run.stdout).toMatch(/^find_peaks: Int32Array\(\d+\) at .*; heights Float64Array$/m);
    expect(run.stdout).toMatch(/^norms: Float32Array\(1000\)/m);
    expect(run.stdout).toMatch(/^percentiles 5\/50\/95: /m);
    expect(run.stdout).toMatch(/^median: -?[\d.]+ \(number\)$/m);
    expect(run.stdout).toMatch(/^find_peaks, async: \d+ peaks$/m);
  });
});
