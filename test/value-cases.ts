// The value cases a call elsewhere than in-process must give as in-process does: test/python/
// functions.py's functions, their arguments, keyword arguments and int64 mode. A ProcessPool
// (test/pool/) and a server (test/remote/functions.test.ts) each run them all.
import { ndarray, PythonFunction } from '../src/index.js';
import { PROBE_DIR, uniform } from './helpers.js';

/** One case: the function, its arguments and keyword arguments, and int64. */
export type ValueCase = [
  string,
  unknown[],
  (Record<string, unknown> | undefined)?,
  ('int32' | 'float64')?,
];

export function valueCases(): ValueCase[] {
  const cases: ValueCase[] = [
    ['python_values', []],
    ['scalars', []],
    ['layouts', []],
    ['shaped', [3, 4]],
    ['shaped', [0, 4]],
    ['fresh_in_list', [3]],
    ['fresh', [100_000]],
    ['int64_values', [[1, 2, 3]], undefined, 'int32'],
    ['int64_values', [[1, 2 ** 40]], undefined, 'float64'],
    ['uint64_values', [[1, 2]]],
    ['echo', [{ a: [1, 2.5, -0, null, undefined, true, 'x', 2n ** 80n, -(2n ** 63n)] }]],
    ['echo', [new Float32Array([1, 2, 3])]],
    ['echo', [ndarray(new Int16Array(6), [2, 3])]],
    ['echo', [uniform(50_000)]],
    ['echo', [uniform(10).subarray(3, 7)]],
    ['echo', [new Uint8ClampedArray([1, 2, 255])]],
    ['echo', [{ x: new BigUint64Array([1n, 2n ** 64n - 1n]), y: [new Float64Array(0)] }]],
  ];
  for (const dtype of [
    'bool',
    'int8',
    'uint16',
    'int32',
    'uint32',
    'int64',
    'float16',
    'float32',
  ]) {
    cases.push(['of_dtype', [dtype]]);
  }

  return cases;
}

/** Results test/python/functions.py's bad() gives that JS has no counterpart for. */
export const BAD_RESULT_KINDS = [
  'set',
  'generator',
  'object_array',
  'complex',
  'custom',
  'int_key',
  'self',
  'datetime',
];

/** The message of the ResultError an in-process call of bad(`kind`) throws ('' if none). */
export function inProcessBadResultMessage(kind: string): string {
  const bad = new PythonFunction('functions', 'bad', { paths: [PROBE_DIR] });
  try {
    bad.call([kind]);
  } catch (error) {
    return (error as Error).message;
  } finally {
    bad.close();
  }
  return '';
}
