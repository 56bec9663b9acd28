// The libraries users plug into py-outliers (scikit-learn, pandas, scipy, joblib) give inside
// Node exactly what they give in plain Python. Needs a venv of the build's Python holding them:
// `make test-libraries` makes one and runs this file with PY_OUTLIERS_TEST_LIBRARIES_PYTHON
// naming it; elsewhere it is skipped.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { PACKAGE_ENTRY, PROBE_DIR, runNode, seedCase } from './helpers.js';

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

function inNode(func: string, method: 'detect' | 'detectAsync'): number[] {
  const env: NodeJS.ProcessEnv = { ...process.env, PY_OUTLIERS_PYTHON: python };
  delete env['PYTHONUNBUFFERED'];
  const run = runNode(
    `const lib = require(${JSON.stringify(PACKAGE_ENTRY)});
     // A Buffer from readFileSync may sit inside a larger pooled ArrayBuffer (Node 26 does so).
     const bytes = require('fs').readFileSync(${JSON.stringify(input)});
     const values = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
     const o = new lib.Outliers('libraries', ${JSON.stringify(func)}, { paths: [${JSON.stringify(PROBE_DIR)}] });
     Promise.resolve(o.${method}(values)).then((r) => console.log(JSON.stringify(Array.from(r))));`,
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
    it(func, () => {
      const expected = plainPython(func);
      for (const i of [7, 113, 835]) expect(expected).toContain(i); // the seeded outliers
      expect(inNode(func, 'detect')).toEqual(expected);
      expect(inNode(func, 'detectAsync')).toEqual(expected);
    });
  }
});
