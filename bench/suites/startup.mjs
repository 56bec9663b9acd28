// What importing py-outliers costs a process, whole processes side by side.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { showProgress } from '../protocol/family.mjs';
import { QUICK, summarize } from '../protocol/measure.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_PYTHON = require(path.join(ROOT, 'dist', 'index.js')).buildInfo().executable;

// ---- start-up -------------------------------------------------------------------------------
/** Wall time of a process from spawn to exit, in ms. */
function runMs(command, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${command} exit ${code}`)),
    );
  });
}

/**
 * What importing py-outliers costs a process: `import` + `new Outliers()` + the first `detect`,
 * against bare node plus plain Python's `import numpy` (the floor: Python must start and numpy
 * must load either way), whole processes, side by side in each round.
 */
export async function startupCost() {
  const entry = JSON.stringify(path.join(ROOT, 'dist', 'index.js'));
  const firstDetect = `const p = require(${entry}); new p.Outliers().detect(new Float64Array([1, 2, 3]));`;
  const rounds = QUICK ? 3 : 11;
  const rows = { node: [], numpy: [], firstDetect: [], extra: [] };
  for (let round = 0; round < rounds; round++) {
    showProgress(`start-up, round ${round + 1}/${rounds}`);
    const node = await runMs(process.execPath, ['-e', '0']);
    const numpy = await runMs(BUILD_PYTHON, ['-c', 'import numpy']);
    const first = await runMs(process.execPath, ['-e', firstDetect]);
    rows.node.push(node);
    rows.numpy.push(numpy);
    rows.firstDetect.push(first);
    rows.extra.push(first - node - numpy);
  }
  const median = (xs) => summarize(xs).medianUs;
  return Object.fromEntries(Object.entries(rows).map(([k, xs]) => [`${k}Ms`, median(xs)]));
}
