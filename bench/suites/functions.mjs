// PythonFunction's costs (issue 26), measured in the bench's measuring processes (child.mjs):
// the call overhead against detect's, a matrix argument at two sizes, and a large result handed
// off against copied; the same calls through node-calls-python beside them. Each comparison
// alternates its ways within every round, and each ratio is the median of the per-round
// ratios, so the machine's drift cancels.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { QUICK, measureSync, summarize } from '../protocol/measure.mjs';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const PY_DIR = path.join(ROOT, 'bench', 'python');
const ROUNDS = QUICK ? 3 : 10;
const BUDGET_MS = QUICK ? 30 : 300;
const RESULT_SIZE = QUICK ? 1_000_000 : 10_000_000;
const MATRIX_ROWS = QUICK ? 100_000 : 1_000_000;

/** Per way, the median over rounds of its per-round median (µs); per pair, the median ratio. */
function alternate(ways, pairs, budgetMs = BUDGET_MS, minSamples = 5) {
  const perRound = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
  for (const fn of Object.values(ways)) fn(); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    const names = Object.keys(ways);
    if (round % 2) names.reverse();
    for (const name of names) {
      perRound[name].push(summarize(measureSync(ways[name], budgetMs, minSamples)).medianUs);
    }
  }
  const medianUs = Object.fromEntries(
    Object.entries(perRound).map(([k, v]) => [k, summarize(v).medianUs]),
  );
  const ratios = Object.fromEntries(
    Object.entries(pairs).map(([name, [a, b]]) => [
      name,
      summarize(perRound[a].map((v, r) => v / perRound[b][r])).medianUs,
    ]),
  );
  return { rounds: ROUNDS, medianUs, ratios };
}

/** The in-process ways: PythonFunction against Outliers.detect on a trivial function. */
export function inprocessFunctionCalls() {
  const { Outliers, PythonFunction, ndarray } = require(path.join(ROOT, 'dist', 'index.js'));
  const { loadAddon } = require(path.join(ROOT, 'dist', 'native.js'));
  const detect = new Outliers('trivial', 'noop', { paths: [PY_DIR] });
  const noop = new PythonFunction('functions', 'noop', { paths: [PY_DIR] });
  const empty = new PythonFunction('functions', 'empty', { paths: [PY_DIR] });
  const values = new Float64Array(1000).fill(1);
  const small = ndarray(new Float64Array(8).fill(1), [1, 8]);
  const big = ndarray(new Float64Array(MATRIX_ROWS * 8).fill(1), [MATRIX_ROWS, 8]);
  const overhead = alternate(
    {
      detect: () => detect.detect(values),
      call: () => noop.call([values]),
      callKwargs: () => noop.call([values], { scale: 2, offset: 1 }),
    },
    { call: ['call', 'detect'], callKwargs: ['callKwargs', 'detect'] },
  );
  const matrix = alternate(
    { small: () => noop.call([small]), big: () => noop.call([big]) },
    { big: ['big', 'small'] },
  );
  const addon = loadAddon();
  const result = alternate(
    {
      handedOff: () => {
        addon.setResultTransfer(0);
        empty.call([RESULT_SIZE]);
      },
      copied: () => {
        addon.setResultTransfer(1);
        empty.call([RESULT_SIZE]);
      },
    },
    { copied: ['copied', 'handedOff'] },
    QUICK ? 50 : 600,
    3,
  );
  addon.setResultTransfer(0);
  return { overhead, matrix, matrixRows: MATRIX_ROWS, result, resultSize: RESULT_SIZE };
}

/** The same calls through node-calls-python (arguments to bytes, bytes back to ArrayBuffer). */
export function ncpFunctionCalls() {
  const py = require('node-calls-python').interpreter;
  const module = py.importSync(path.join(PY_DIR, 'functions.py'));
  const values = new Float64Array(1000).fill(1);
  const small = new Float64Array(8).fill(1);
  const big = new Float64Array(MATRIX_ROWS * 8).fill(1);
  const overhead = alternate(
    {
      call: () => py.callSync(module, 'ncp_noop', values),
      callKwargs: () =>
        py.callSync(module, 'ncp_noop', values, { scale: 2, offset: 1, __kwargs: true }),
    },
    {},
  );
  const matrix = alternate(
    {
      small: () => py.callSync(module, 'ncp_matrix', small, 1, 8),
      big: () => py.callSync(module, 'ncp_matrix', big, MATRIX_ROWS, 8),
    },
    { big: ['big', 'small'] },
  );
  const result = alternate(
    { copied: () => py.callSync(module, 'ncp_empty', RESULT_SIZE) },
    {},
    QUICK ? 50 : 600,
    3,
  );
  return { overhead, matrix, result };
}

const us = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const x = (v) => `${v.toFixed(2)}x`;

/** The report's section and the targets, from what the two processes measured. */
export function functionReport({ inprocess: p, ncp }) {
  if (!p) return { sections: [], targets: [] };
  const rows = [
    ['detect, trivial function, 1k values', `${us(p.overhead.medianUs.detect)} µs`, '', ''],
    [
      'call([values]), trivial function, 1k values',
      `${us(p.overhead.medianUs.call)} µs`,
      x(p.overhead.ratios.call),
      ncp ? `${us(ncp.overhead.medianUs.call)} µs` : '–',
    ],
    [
      'call([values], { scale, offset })',
      `${us(p.overhead.medianUs.callKwargs)} µs`,
      x(p.overhead.ratios.callKwargs),
      ncp ? `${us(ncp.overhead.medianUs.callKwargs)} µs` : '–',
    ],
    [
      'call([matrix 1 x 8])',
      `${us(p.matrix.medianUs.small)} µs`,
      '',
      ncp ? `${us(ncp.matrix.medianUs.small)} µs` : '–',
    ],
    [
      `call([matrix ${p.matrixRows.toLocaleString('en')} x 8])`,
      `${us(p.matrix.medianUs.big)} µs`,
      `${x(p.matrix.ratios.big)} the 1 x 8`,
      ncp ? `${us(ncp.matrix.medianUs.big)} µs (${x(ncp.matrix.ratios.big)} the 1 x 8)` : '–',
    ],
    [
      `a ${(p.resultSize / 1e6).toFixed(0)}M float64 result, handed off`,
      `${us(p.result.medianUs.handedOff)} µs`,
      '',
      '',
    ],
    [
      `the same, copied`,
      `${us(p.result.medianUs.copied)} µs`,
      `${x(p.result.ratios.copied)} the hand-off`,
      ncp ? `${us(ncp.result.medianUs.copied)} µs (bytes to ArrayBuffer)` : '–',
    ],
  ];
  const table = [
    '| PythonFunction | median per call | ratio | node-calls-python |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const sections = [
    `PythonFunction, one sync call at a time (medians over ${p.overhead.rounds} alternating rounds; ratios are medians of per-round ratios):\n\n${table}`,
  ];
  const targets = [
    [
      "PythonFunction.call overhead, one array, <= 1.2x detect's",
      p.overhead.ratios.call <= 1.2,
      x(p.overhead.ratios.call),
    ],
    [
      `a ${(p.resultSize / 1e6).toFixed(0)}M float64 result handed off >= 20x faster than copied`,
      p.result.ratios.copied >= 20,
      x(p.result.ratios.copied),
    ],
    [
      `a ${p.matrixRows.toLocaleString('en')} x 8 matrix costs what a 1 x 8 does (zero copy, within 1.25x)`,
      p.matrix.ratios.big <= 1.25,
      x(p.matrix.ratios.big),
    ],
  ];
  return { sections, targets };
}
