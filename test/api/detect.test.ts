// What detect computes, and what Python receives: the zero-copy, read-only view.
import { describe, expect, it } from 'vitest';

import { Outliers } from '../../src/index.js';
import { numpyOracle, probe, reportOf, seedCase, uniform } from '../helpers.js';

describe('detect with the packaged outliers.detect', () => {
  const o = new Outliers();

  it('finds exactly the seed outliers', () => {
    const result = o.detect(seedCase());
    expect(result).toBeInstanceOf(Int32Array);
    expect(Array.from(result)).toEqual([7, 113, 835]);
  });

  it('agrees with numpy run in a separate python process on random data', () => {
    for (const [length, seed] of [
      [10, 3],
      [1000, 5],
      [4096, 11],
      [100_000, 17],
    ] as const) {
      const values = uniform(length, seed);
      // A few spikes of random size so there is something to find besides the tails.
      for (let i = 0; i < length; i += Math.max(1, Math.floor(length / 7))) {
        values[i] = values[i]! * 40 - 20;
      }
      expect(Array.from(o.detect(values)), `length ${length}`).toEqual(numpyOracle(values));
    }
  });

  it('returns an empty result for empty input, without entering Python', async () => {
    const result = o.detect(new Float64Array(0));
    expect(result).toBeInstanceOf(Int32Array);
    expect(result.length).toBe(0);
    // A function that raises on every call: an empty input must not reach it.
    const raising = probe('raise_value_error');
    expect(raising.detect(new Float64Array(0)).length).toBe(0);
    expect((await raising.detectAsync(new Float64Array(0))).length).toBe(0);
    expect(raising.detect(new Float64Array(8).subarray(3, 3)).length).toBe(0);
  });

  it('a single value is never an outlier (its std is 0)', () => {
    expect(Array.from(o.detect(new Float64Array([42])))).toEqual([]);
    expect(Array.from(o.detect(new Float64Array([NaN])))).toEqual([]);
  });

  it('finds no outliers in all-equal input', () => {
    expect(o.detect(new Float64Array(100).fill(4.5)).length).toBe(0);
  });

  it('returns no outliers when any value is NaN (documented)', () => {
    const values = seedCase();
    values[500] = NaN;
    expect(o.detect(values).length).toBe(0);
    expect(o.detect(new Float64Array(10).fill(NaN)).length).toBe(0);
  });

  it('returns no outliers when values are infinite (documented)', () => {
    expect(o.detect(new Float64Array(10).fill(Infinity)).length).toBe(0);
    const values = seedCase();
    values[3] = Infinity;
    expect(o.detect(values).length).toBe(0);
  });

  it('handles 10M values', () => {
    const values = new Float64Array(10_000_000);
    for (let i = 0; i < values.length; i++) values[i] = (i % 1000) / 1000;
    values[1_234_567] = 1e6;
    values[9_999_999] = -1e6;
    expect(Array.from(o.detect(values))).toEqual([1_234_567, 9_999_999]);
  });
});

describe('what Python receives', () => {
  const view = probe('report_view');

  it('is a read-only 1-D float64 view that does not own its data', () => {
    const facts = reportOf(() => view.detect(new Float64Array([1, 2, 3])));
    expect(facts).toMatchObject({
      dtype: 'float64',
      ndim: 1,
      shape: [3],
      writeable: false,
      owndata: false,
      c_contiguous: true,
      base: 'JsBufferPin',
      values: [1, 2, 3],
    });
  });

  it('sees exactly the bytes of a subarray (offset respected, once)', () => {
    const whole = Float64Array.from({ length: 32 }, (_, i) => i);
    expect(reportOf(() => view.detect(whole.subarray(5, 9)))['values']).toEqual([5, 6, 7, 8]);
    expect(reportOf(() => view.detect(whole.subarray(31)))['values']).toEqual([31]);
    const onOffset = new Float64Array(whole.buffer, 8 * 20, 3);
    expect(reportOf(() => view.detect(onOffset))['values']).toEqual([20, 21, 22]);
  });

  it('indices from a subarray are relative to the subarray', () => {
    const whole = new Float64Array(64);
    whole[40] = 9;
    expect(Array.from(probe('argmax').detect(whole.subarray(32, 48)))).toEqual([8]);
  });

  it('is the same memory, not a copy (a change is visible on the next call)', () => {
    const values = new Float64Array([1, 2, 3]);
    const argmax = probe('argmax');
    expect(Array.from(argmax.detect(values))).toEqual([2]);
    values[0] = 100;
    expect(Array.from(argmax.detect(values))).toEqual([0]);
  });

  it('accepts a subclass of Float64Array', () => {
    class Samples extends Float64Array {}
    const values = Samples.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50]);
    expect(Array.from(new Outliers().detect(values))).toEqual([11]);
  });

  it('gets a copy of a SharedArrayBuffer-backed array (documented)', () => {
    const shared = new Float64Array(new SharedArrayBuffer(8 * 4));
    shared.set([4, 3, 2, 1]);
    const facts = reportOf(() => view.detect(shared));
    expect(facts['values']).toEqual([4, 3, 2, 1]);
    expect(Array.from(probe('argmax').detect(shared))).toEqual([0]);
  });

  it('gets a copy of a resizable ArrayBuffer-backed array (documented)', () => {
    // Resizable ArrayBuffers are in Node 20 but not in the ES2022 typings.
    const Resizable = ArrayBuffer as unknown as new (
      n: number,
      o: { maxByteLength: number },
    ) => ArrayBuffer;
    const resizable = new Resizable(16, { maxByteLength: 64 });
    const values = new Float64Array(resizable);
    values.set([1, 9]);
    expect(reportOf(() => view.detect(values))['values']).toEqual([1, 9]);
  });
});

describe('returned arrays', () => {
  it('are independent copies, small or large', () => {
    const o = new Outliers();
    const first = o.detect(seedCase());
    first[0] = -5;
    expect(Array.from(o.detect(seedCase()))).toEqual([7, 113, 835]);
    const all = probe('all_indices');
    const big = all.detect(new Float64Array(5000)); // more than the sync scratch holds
    expect(big.length).toBe(5000);
    expect(big[4999]).toBe(4999);
    const again = all.detect(new Float64Array(3));
    expect(Array.from(again)).toEqual([0, 1, 2]);
    expect(big.buffer).not.toBe(again.buffer);
    expect(first.buffer).not.toBe(again.buffer);
  });
});

describe('accepted result shapes', () => {
  const input = new Float64Array(8);
  const cases: [string, number[]][] = [
    ['noop', []],
    ['all_indices', [0, 1, 2, 3, 4, 5, 6, 7]],
    ['as_list', [0, 7]],
    ['as_tuple', [7, 0]],
    ['as_int32', [1, 0]],
    ['as_uint8', [2, 1]],
    ['as_uint64', [3]],
    ['non_contiguous', [0, 2, 4, 6]],
    ['empty_tuple', []],
    ['empty_int_array', []],
  ];
  for (const [name, expected] of cases) {
    it(`${name} -> ${JSON.stringify(expected)}`, () => {
      const result = probe(name).detect(input);
      expect(result).toBeInstanceOf(Int32Array);
      expect(Array.from(result)).toEqual(expected);
    });
  }
});
