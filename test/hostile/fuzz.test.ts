// Property-based tests (fast-check) of detect: random inputs against numpy, random return
// values against the result rules. Sized and seeded as test/hostile/fuzz-values.test.ts says.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Outliers, ResultError } from '../../src/index.js';
import { BUILD_PYTHON, FUZZ_SCALE, fuzzSeed, probe } from '../helpers.js';

/** numpy in a separate, long-lived python process: one request per line. */
class Oracle {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: ((line: string) => void)[] = [];

  constructor() {
    const script =
      'import sys, json, base64, numpy as np\n' +
      'for line in sys.stdin:\n' +
      '    d = np.frombuffer(base64.b64decode(line), dtype="<f8")\n' +
      '    r = np.where(np.abs(d - d.mean()) > 2 * d.std())[0] if len(d) else []\n' +
      '    print(json.dumps([int(i) for i in r]), flush=True)\n';
    this.#child = spawn(BUILD_PYTHON, ['-W', 'ignore', '-c', script]);
    readline
      .createInterface({ input: this.#child.stdout })
      .on('line', (l) => this.#waiting.shift()!(l));
  }

  detect(values: Float64Array): Promise<number[]> {
    return new Promise((resolve) => {
      this.#waiting.push((line) => resolve(JSON.parse(line) as number[]));
      const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
      this.#child.stdin.write(`${bytes.toString('base64')}\n`);
    });
  }

  close(): void {
    this.#child.stdin.end();
  }
}

let oracle: Oracle;
beforeAll(() => {
  oracle = new Oracle();
});
afterAll(() => oracle.close());

// Arbitrary doubles, NaN, infinities, -0 and subnormals included, plus ordinary data with spikes.
const anyDouble = fc.double();
const ordinary = fc.double({ min: -1e3, max: 1e3, noNaN: true });
const samples = fc.oneof(
  fc.array(anyDouble, { maxLength: 200 }),
  fc.array(ordinary, { minLength: 1, maxLength: 3000 }),
);

describe('random inputs, offsets and lengths: the same indices as numpy', () => {
  const o = new Outliers();

  it('detect and detectAsync agree with numpy, subarray offsets included', async () => {
    await fc.assert(
      fc.asyncProperty(samples, fc.nat(16), fc.nat(16), async (values, before, after) => {
        // The values sit at an offset inside a larger buffer, with other data around them.
        const backing = new Float64Array(before + values.length + after).fill(1e9);
        backing.set(values, before);
        const view = backing.subarray(before, before + values.length);
        const expected = await oracle.detect(view);
        expect(Array.from(o.detect(view))).toEqual(expected);
        expect(Array.from(await o.detectAsync(view))).toEqual(expected);
      }),
      { numRuns: 300 * FUZZ_SCALE, seed: fuzzSeed(1) },
    );
  });
});

// ---- the result rules, as a model ------------------------------------------------------
const DTYPES = [
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float64',
  'bool',
];
const INTEGER = new Set(DTYPES.slice(0, 8));

interface Spec {
  container: 0 | 1 | 2; // list, tuple, ndarray
  dtype: number;
  ndim: 0 | 1 | 2;
  strided: boolean;
  values: number[];
  padding: number;
}

/** The outcome the rules (README, native/values/index_result.cc) predict: indices, or a ResultError. */
function predict(spec: Spec, length: number): number[] | 'invalid' {
  const { container, dtype, ndim, values } = spec;
  if (container < 2) {
    if (values.length > length) return 'invalid';
    return values.every((v) => v >= 0 && v < length) ? values : 'invalid';
  }
  if (ndim !== 1) return 'invalid';
  const kind = DTYPES[dtype]!;
  if (values.length === 0 && INTEGER.has(kind)) return [];
  if (!INTEGER.has(kind)) return 'invalid';
  if (values.length > length) return 'invalid';
  return values.every((v) => v >= 0 && v < length) ? values : 'invalid';
}

const spec: fc.Arbitrary<Spec> = fc
  .record({
    container: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    dtype: fc.nat(DTYPES.length - 1),
    ndim: fc.constantFrom(0, 1, 1, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    strided: fc.boolean(),
    padding: fc.nat(40),
  })
  .chain((s) => {
    const kind = DTYPES[s.dtype]!;
    const unsigned = s.container === 2 && kind.startsWith('uint');
    const boolean = s.container === 2 && kind === 'bool';
    // Values the dtype can hold: the input never exceeds 5 + 30 + 40 = 75 values, and int8
    // holds -128..127.
    const value = boolean ? fc.nat(1) : fc.integer({ min: unsigned ? 0 : -3, max: 90 });
    return fc.array(value, { maxLength: 30 }).map((values) => ({ ...s, values }));
  });

describe('random return values: accepted exactly when the rules say so', () => {
  const fromSpec = probe('from_spec');

  it('valid results come back as given; invalid ones are a ResultError', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const input = new Float64Array([
          s.container,
          s.dtype,
          s.ndim,
          s.strided ? 1 : 0,
          s.values.length,
          ...s.values,
          ...new Array<number>(s.padding).fill(0),
        ]);
        const expected = predict(s, input.length);
        if (expected === 'invalid') {
          expect(() => fromSpec.detect(input)).toThrow(ResultError);
        } else {
          expect(Array.from(fromSpec.detect(input))).toEqual(expected);
        }
      }),
      { numRuns: 1000 * FUZZ_SCALE, seed: fuzzSeed(2) },
    );
  });
});
