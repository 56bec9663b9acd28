// Instruction counts per call (valgrind callgrind): the steadier companion of run.mjs.
// Wall-clock time on a shared 2-core machine drifts by tens of percent between runs;
// instruction counts move by a few percent (memory addresses differ from run to run, and
// with them SIMD loop peeling, hash layouts and when the runtimes do periodic work), so each
// figure is the median of 3 runs, with its range. Each run's count is (instructions of a run
// with 2N calls - those with N calls) / N, so start-up cancels out.
// `make bench-instructions`; needs valgrind. About five minutes.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const PY_DIR = path.join(ROOT, 'bench', 'python');
// The interpreter the addon was built against, so plain Python runs the same Python and numpy.
const BUILD_PYTHON = require(path.join(ROOT, 'dist', 'index.js')).buildInfo().executable;

const nodeScript = (moduleName, funcName) => `
  const { Outliers } = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
  const o = new Outliers(${JSON.stringify(moduleName)}, ${JSON.stringify(funcName)}, { paths: [${JSON.stringify(PY_DIR)}] });
  const v = new Float64Array(1000).map((_, i) => ((i * 7919) % 1000) / 1000); v[7] += 97;
  for (let i = 0, n = Number(process.argv[1]); i < n; i++) o.detect(v);`;
const pythonScript = (moduleName, funcName) => `
import sys; sys.path[:0] = [${JSON.stringify(PY_DIR)}, ${JSON.stringify(path.join(ROOT, 'python'))}]
import numpy as np
from ${moduleName} import ${funcName} as f
v = (np.arange(1000) * 7919 % 1000) / 1000; v[7] += 97
for _ in range(int(sys.argv[1])): f(v)`;

function instructions(command, args) {
  const out = path.join(os.tmpdir(), `py-outliers-callgrind-${process.pid}.out`);
  // Determinism: a fixed Python hash seed, and V8 without its compiler and GC threads, whose
  // timing-dependent work would otherwise land in one run and not the other.
  const run = spawnSync(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, command, ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, PYTHONHASHSEED: '0' },
    },
  );
  fs.rmSync(out, { force: true });
  const match = /I\s+refs:\s+([\d,]+)/.exec(run.stderr ?? '');
  if (!match) throw new Error(`callgrind failed: ${run.error?.message ?? run.stderr}`);
  return Number(match[1].replaceAll(',', ''));
}

const REPEATS = 3;

/** Median and range of REPEATS measurements of the instructions per call. */
function perCall(label, command, argsFor, n) {
  const counts = [];
  for (let r = 0; r < REPEATS; r++) {
    process.stderr.write(`callgrind: ${label}, run ${r + 1}/${REPEATS}...\n`);
    counts.push((instructions(command, argsFor(2 * n)) - instructions(command, argsFor(n))) / n);
  }
  counts.sort((a, b) => a - b);
  return { median: counts[REPEATS >> 1], min: counts[0], max: counts.at(-1) };
}
const fmt = ({ median, min, max }) =>
  `${Math.round(median)} (${Math.round(min)}-${Math.round(max)})`;

const rows = [
  ['detect, 1k values', 'outliers', 'detect', 2000],
  ['trivial function', 'trivial', 'noop', 20000],
].map(([label, moduleName, funcName, n]) => {
  const inproc = perCall(
    `in-process ${label}`,
    process.execPath,
    (k) => ['--single-threaded', '-e', nodeScript(moduleName, funcName), String(k)],
    n,
  );
  const python = perCall(
    `plain Python ${label}`,
    BUILD_PYTHON,
    (k) => ['-c', pythonScript(moduleName, funcName), String(k)],
    n,
  );
  return { label, inproc, python };
});

console.log(
  `\nInstructions per call (valgrind callgrind; median of ${REPEATS} runs, range in brackets):\n`,
);
console.log('| call | in-process | plain Python | in-process - Python | in-process / Python |');
console.log('|------|-----------:|-------------:|--------------------:|--------------------:|');
for (const { label, inproc, python } of rows) {
  console.log(
    `| ${label} | ${fmt(inproc)} | ${fmt(python)} | ${Math.round(inproc.median - python.median)} | ${(inproc.median / python.median).toFixed(3)}x |`,
  );
}
