// Instruction counts per call (valgrind callgrind): the deterministic companion of run.mjs.
// Wall-clock time on a shared 2-core machine drifts by tens of percent; instructions do not.
// Each count is (instructions of a run with 2N calls - those with N calls) / N, so start-up
// cancels out. `make bench-instructions`; needs valgrind. About two minutes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const VENV_PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

const nodeScript = (moduleName, funcName) => `
  const { Outliers } = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
  const o = new Outliers(${JSON.stringify(moduleName)}, ${JSON.stringify(funcName)}, { paths: [${JSON.stringify(HERE)}] });
  const v = new Float64Array(1000).map((_, i) => ((i * 7919) % 1000) / 1000); v[7] += 97;
  for (let i = 0, n = Number(process.argv[1]); i < n; i++) o.detect(v);`;
const pythonScript = (moduleName, funcName) => `
import sys; sys.path[:0] = [${JSON.stringify(HERE)}, ${JSON.stringify(path.join(ROOT, 'python'))}]
import numpy as np
from ${moduleName} import ${funcName} as f
v = (np.arange(1000) * 7919 % 1000) / 1000; v[7] += 97
for _ in range(int(sys.argv[1])): f(v)`;

function instructions(command, args) {
  const out = path.join(os.tmpdir(), `py-outliers-callgrind-${process.pid}.out`);
  const run = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, command, ...args], { encoding: 'utf8' });
  fs.rmSync(out, { force: true });
  const match = /I\s+refs:\s+([\d,]+)/.exec(run.stderr ?? '');
  if (!match) throw new Error(`callgrind failed: ${run.error?.message ?? run.stderr}`);
  return Number(match[1].replaceAll(',', ''));
}

function perCall(label, command, argsFor, n) {
  process.stderr.write(`callgrind: ${label}...\n`);
  return (instructions(command, argsFor(2 * n)) - instructions(command, argsFor(n))) / n;
}

const rows = [
  ['detect, 1k values', 'outliers', 'detect', 2000],
  ['trivial function', 'trivial', 'noop', 20000],
].map(([label, moduleName, funcName, n]) => {
  const inproc = perCall(`in-process ${label}`, process.execPath, (k) => ['-e', nodeScript(moduleName, funcName), String(k)], n);
  const python = perCall(`plain Python ${label}`, VENV_PYTHON, (k) => ['-c', pythonScript(moduleName, funcName), String(k)], n);
  return { label, inproc, python };
});

console.log('\nInstructions per call (valgrind callgrind; deterministic):\n');
console.log('| call | in-process | plain Python | in-process - Python | in-process / Python |');
console.log('|------|-----------:|-------------:|--------------------:|--------------------:|');
for (const { label, inproc, python } of rows) {
  console.log(`| ${label} | ${Math.round(inproc)} | ${Math.round(python)} | ${Math.round(inproc - python)} | ${(inproc / python).toFixed(3)}x |`);
}
