// PythonFunction: every argument kind in, every result kind out, the zero-copy rules both
// ways, and the sharp edges (test/python/functions.py holds the Python side).
import { describe, expect, it } from 'vitest';

import {
  ClosedError,
  ndarray,
  PythonError,
  PythonFunction,
  ResultError,
  type PythonResult,
} from '../../src/index.js';
import { loadAddon } from '../../src/native.js';
import { PACKAGE_ENTRY, PROBE_DIR, runNode } from '../helpers.js';

const fn = (name: string, options: { int64?: 'bigint' | 'int32' | 'float64' } = {}) =>
  new PythonFunction('functions', name, { paths: [PROBE_DIR], ...options });

type Described = {
  args: Record<string, unknown>[];
  kwargs: Record<string, Record<string, unknown>>;
};
const describePy = fn('describe');
const described = (args: unknown[], kwargs?: Record<string, unknown>): Described =>
  describePy.call(args as never, kwargs as never) as unknown as Described;

declare const gc: () => void;

function hasUsing(): boolean {
  try {
    new Function('{ using x = null; }');
    return true;
  } catch {
    return false;
  }
}
const settle = async () => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
};

const KINDS = [
  [Float64Array, 'float64'],
  [Float32Array, 'float32'],
  [Int8Array, 'int8'],
  [Int16Array, 'int16'],
  [Int32Array, 'int32'],
  [Uint8Array, 'uint8'],
  [Uint8ClampedArray, 'uint8'],
  [Uint16Array, 'uint16'],
  [Uint32Array, 'uint32'],
] as const;

describe('arguments in', () => {
  it('every typed array kind becomes a read-only view of its own memory, with its dtype', () => {
    for (const [Kind, dtype] of KINDS) {
      const [info] = described([Kind.from([1, 2, 3])]).args;
      expect(info, Kind.name).toMatchObject({
        type: 'ndarray',
        dtype,
        shape: [3],
        writeable: false,
        owndata: false,
        base: 'JsBufferPin',
        values: [1, 2, 3],
      });
    }
    const [i64, u64] = described([
      BigInt64Array.from([-1n, 2n ** 62n]),
      BigUint64Array.from([2n ** 63n]),
    ]).args;
    expect(i64).toMatchObject({ dtype: 'int64', values: [-1, 2n ** 62n], base: 'JsBufferPin' });
    expect(u64).toMatchObject({ dtype: 'uint64', base: 'JsBufferPin' });
    expect(described([Buffer.from('hi')]).args[0]).toMatchObject({
      dtype: 'uint8',
      values: [104, 105],
    });
  });

  it.runIf(typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function')(
    'Float16Array becomes float16 (Node 26 and later)',
    () => {
      const F16 = (globalThis as unknown as { Float16Array: Float32ArrayConstructor }).Float16Array;
      expect(described([F16.from([0.5, 2])]).args[0]).toMatchObject({
        dtype: 'float16',
        values: [0.5, 2],
      });
      expect(fn('of_dtype').call(['float16'])).toBeInstanceOf(F16);
    },
  );

  it('is zero-copy: a view Python keeps sees later JS writes, and its memory outlives a transfer', () => {
    const data = new Float64Array(1000).fill(1);
    const index = fn('keep').call([data.subarray(10)]) as number;
    const keptSum = fn('kept_sum');
    expect(keptSum.call([index])).toBe(990);
    data[500] = 11;
    expect(keptSum.call([index])).toBe(1000);
    // Transferring the buffer moves its memory; the pin keeps it alive for Python's view.
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(data.length).toBe(0);
    expect(keptSum.call([index])).toBe(1000);
    fn('drop_kept').call();
  });

  it('Python cannot write into JS memory', () => {
    const data = new Float64Array(4);
    expect(() => fn('write').call([data])).toThrow(/read-only/);
    expect(data[0]).toBe(0);
  });

  it('subarrays of every kind start at their own offset', () => {
    for (const [Kind] of KINDS) {
      const whole = Kind.from([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(described([whole.subarray(3, 6)]).args[0]!.values, Kind.name).toEqual([3, 4, 5]);
    }
  });

  it('empty arrays, NaN and the infinities pass through', () => {
    for (const [Kind, dtype] of KINDS) {
      expect(described([new Kind(0)]).args[0]).toMatchObject({ dtype, shape: [0], values: [] });
    }
    expect(fn('total').call([new Float64Array([1, NaN])])).toBeNaN();
    expect(fn('total').call([new Float32Array([1, Infinity])])).toBe(Infinity);
    expect(described([NaN, -Infinity]).args).toEqual([
      { type: 'float', value: 'nan' },
      { type: 'float', value: '-inf' },
    ]);
  });

  it('{ data, shape } is a C-contiguous view of that shape, and ndarray() checks it', () => {
    const [info] = described([ndarray(new Int32Array(24), [2, 3, 4])]).args;
    expect(info).toMatchObject({
      dtype: 'int32',
      shape: [2, 3, 4],
      c_contiguous: true,
      owndata: false,
    });
    expect(described([{ data: new Float32Array(0), shape: [0, 8] }]).args[0]).toMatchObject({
      shape: [0, 8],
    });
    expect(described([ndarray(new Float64Array(1), [])]).args[0]).toMatchObject({ shape: [] });
    expect(() => ndarray(new Float64Array(6), [4, 2])).toThrow(TypeError);
    expect(() => ndarray(new Float64Array(6), [-2, -3])).toThrow(TypeError);
    expect(() => ndarray(new Float64Array(6), [1.5, 4])).toThrow(TypeError);
    expect(() => ndarray([1, 2] as never, [2])).toThrow(TypeError);
  });

  it('a shape that does not fit, or a bad dimension, is a TypeError naming the argument', () => {
    const call = (value: unknown) => () => describePy.call([1, { m: value }] as never);
    expect(call({ data: new Float64Array(6), shape: [4, 2] })).toThrow(
      /^args\[1\]\.m has shape \[4, 2\], which does not fit its 6 elements$/,
    );
    expect(call({ data: new Float64Array(6), shape: [-6] })).toThrow(
      /args\[1\]\.m\.shape\[0\] must be a whole number >= 0/,
    );
    expect(call({ data: new Float64Array(6), shape: [2.5, 2] })).toThrow(
      /shape\[0\] must be a whole number/,
    );
    expect(call({ data: new Float64Array(6), shape: '6' })).toThrow(
      /args\[1\]\.m\.shape must be an array/,
    );
    expect(call({ data: new Float64Array(1), shape: new Array(33).fill(1) })).toThrow(
      /33 dimensions; at most 32/,
    );
    // 2^32 x 2^32 overflows 64 bits only through the product: still refused.
    expect(call({ data: new Float64Array(0), shape: [2 ** 32, 2 ** 32, 0.5] })).toThrow(TypeError);
    expect(call({ data: new Float64Array(0), shape: [2 ** 40, 2 ** 40] })).toThrow(
      /is too big for numpy/,
    );
  });

  it('a 1M x 8 matrix passes as a view, however large', () => {
    const big = ndarray(new Float64Array(8_000_000).fill(0.5), [1_000_000, 8]);
    expect(described([big]).args[0]).toMatchObject({
      shape: [1_000_000, 8],
      owndata: false,
      base: 'JsBufferPin',
    });
    expect(fn('total').call([big])).toBe(4_000_000);
  });

  it('numbers, bigints, booleans, strings, null and undefined, arrays and objects', () => {
    const { args, kwargs } = described(
      [0, 7, -3, 1.5, 2 ** 53, -0, 5n, 2n ** 80n, -(2n ** 70n), true, 'h\u00e9', null, undefined],
      { axis: 1, nested: { list: [1, 'a', [null]] }, empty: {} },
    );
    expect(args).toEqual([
      { type: 'int', value: 0 },
      { type: 'int', value: 7 },
      { type: 'int', value: -3 },
      { type: 'float', value: 1.5 },
      { type: 'float', value: 2 ** 53 }, // not a safe integer: a float
      { type: 'int', value: 0 },
      { type: 'int', value: 5 },
      { type: 'int', value: (2n ** 80n).toString() },
      { type: 'int', value: (-(2n ** 70n)).toString() },
      { type: 'bool', value: true },
      { type: 'str', value: 'h\u00e9' },
      { type: 'NoneType', value: null },
      { type: 'NoneType', value: null },
    ]);
    expect(kwargs.axis).toEqual({ type: 'int', value: 1 });
    expect(kwargs.nested).toEqual({
      type: 'dict',
      items: {
        list: {
          type: 'list',
          items: [
            { type: 'int', value: 1 },
            { type: 'str', value: 'a' },
            { type: 'list', items: [{ type: 'NoneType', value: null }] },
          ],
        },
      },
    });
    expect(kwargs.empty).toEqual({ type: 'dict', items: {} });
    expect(described([Object.create(null) as object]).args[0]).toEqual({ type: 'dict', items: {} });
  });

  it('anything else is a TypeError naming where it was', () => {
    const call = (args: unknown[], kwargs?: unknown) => () =>
      describePy.call(args as never, kwargs as never);
    expect(call([() => 1])).toThrow(/^args\[0\] cannot be passed to Python: a function/);
    expect(call([1, Symbol('s')])).toThrow(/^args\[1\] .*symbol/);
    expect(call([new Map()])).toThrow(/^args\[0\] cannot be passed to Python: a Map/);
    expect(call([[1, [2, new Date()]]])).toThrow(/^args\[0\]\[1\]\[1\] .*a Date/);
    expect(call([], { opts: { x: [1, new Set()] } })).toThrow(/^kwargs\.opts\.x\[1\] .*a Set/);
    expect(call([new (class Point {})()])).toThrow(/a Point is none of/);
    expect(call([new ArrayBuffer(8)])).toThrow(/^args\[0\] is an ArrayBuffer: pass a typed array/);
    expect(call([new DataView(new ArrayBuffer(8))])).toThrow(/a DataView/);
    expect(call([], [1])).toThrow(/^kwargs must be a plain object/);
    expect(call([], new Map())).toThrow(/^kwargs must be a plain object/);
    expect(() => describePy.call('x' as never)).toThrow(/^args must be an array/);
    const loop: unknown[] = [];
    loop.push(loop);
    expect(call([loop])).toThrow(/nested deeper than 200 levels \(does it hold itself\?\)/);
    for (const error of [call([() => 1]), call([new Map()])]) {
      expect(error).toThrow(TypeError);
    }
  });

  it('a getter that throws: its error arrives as is', () => {
    const hostile = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new RangeError('from the getter');
      },
    });
    expect(() => describePy.call([hostile])).toThrow(/from the getter/);
  });

  it('a detached buffer is a TypeError; a resizable one too; a SharedArrayBuffer is a live view', () => {
    const data = new Float64Array(8);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => describePy.call([1, data])).toThrow(/^args\[1\]'s ArrayBuffer is detached$/);
    const Resizable = ArrayBuffer as unknown as new (
      n: number,
      o: { maxByteLength: number },
    ) => ArrayBuffer;
    let resizable: ArrayBuffer | undefined;
    try {
      resizable = new Resizable(16, { maxByteLength: 64 });
    } catch {
      resizable = undefined; // Node 20 without resizable buffers
    }
    if (resizable !== undefined && (resizable as { resizable?: boolean }).resizable) {
      expect(() => describePy.call([new Float64Array(resizable)])).toThrow(/resizable ArrayBuffer/);
    }
    const shared = new Float64Array(new SharedArrayBuffer(80)).fill(2);
    const index = fn('keep').call([shared]) as number;
    shared[0] = 12; // racy by design: JS may write while Python reads (README)
    expect(fn('kept_sum').call([index])).toBe(30);
    fn('drop_kept').call();
  });
});

describe('results out', () => {
  it('each numeric dtype becomes its typed array', () => {
    const ofDtype = fn('of_dtype');
    const expected: [string, unknown][] = [
      ['float64', Float64Array],
      ['float32', Float32Array],
      ['int8', Int8Array],
      ['int16', Int16Array],
      ['int32', Int32Array],
      ['uint8', Uint8Array],
      ['uint16', Uint16Array],
      ['uint32', Uint32Array],
      ['bool', Uint8Array],
      ['int64', BigInt64Array],
      ['uint64', BigUint64Array],
    ];
    for (const [dtype, Kind] of expected) {
      const out = ofDtype.call([dtype]) as ArrayLike<number | bigint>;
      expect(out, dtype).toBeInstanceOf(Kind);
      expect(Array.from(out, Number), dtype).toEqual(
        dtype === 'bool' ? [0, 1, 0, 1] : [0, 1, 2, 3],
      );
    }
    const half = ofDtype.call(['float16']) as Float32Array;
    expect(Array.from(half)).toEqual([0, 1, 2, 3]);
  });

  it('N-D arrays come back as { data, shape }, in C order', () => {
    expect(fn('shaped').call([2, 3])).toEqual({
      data: Float64Array.from([0, 1, 2, 3, 4, 5]),
      shape: [2, 3],
    });
    expect(fn('shaped').call([0, 3])).toEqual({ data: new Float64Array(0), shape: [0, 3] });
  });

  it('non-contiguous, big-endian and misaligned arrays are copied into place', () => {
    const out = fn('layouts').call() as Record<string, PythonResult>;
    expect(out.strided).toEqual({ data: Float64Array.from([0, 2, 4, 6, 8, 10]), shape: [3, 2] });
    expect(out.transposed).toEqual({
      data: Float64Array.from([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]),
      shape: [4, 3],
    });
    expect(out.big_endian).toEqual(Float64Array.from([0, 1, 2, 3]));
    expect(out.misaligned).toEqual(new Float64Array(4));
    expect(out.reversed).toEqual(Int32Array.from([4, 3, 2, 1, 0]));
  });

  it('numpy scalars and 0-d arrays are numbers; ints beyond 2^53 bigints (lossless)', () => {
    expect(fn('scalars').call()).toEqual([
      1.5,
      2.5,
      -3,
      2n ** 63n,
      2n ** 60n,
      7,
      true,
      4.25,
      9,
      2n ** 53n + 1n,
      -(2n ** 70n),
      2n ** 100n,
      NaN,
      Infinity,
    ]);
  });

  it("int64: 'int32' and 'float64' give plain numbers, each checked", () => {
    const ints = fn('int64_values', { int64: 'int32' });
    expect(ints.call([[1, -5, 2 ** 31 - 1]])).toEqual(Int32Array.from([1, -5, 2 ** 31 - 1]));
    expect(() => ints.call([[1, 2 ** 31]])).toThrow(
      /element 1 \(2147483648\) does not fit an Int32Array \(int64: 'int32'\)/,
    );
    expect(ints.call([[2 ** 40]], {}, { int64: 'float64' })).toEqual(Float64Array.from([2 ** 40]));
    expect(() => ints.call([[0, 0, 2 ** 53 + 2]], {}, { int64: 'float64' })).toThrow(ResultError);
    expect(ints.call([[2 ** 53]], {}, { int64: 'float64' })).toEqual(Float64Array.from([2 ** 53]));
    expect(() => fn('uint64_values', { int64: 'int32' }).call([[2n ** 63n]])).toThrow(
      /9223372036854775808/,
    );
    expect(fn('uint64_values', { int64: 'float64' }).call([[3]])).toEqual(Float64Array.from([3]));
    expect(() => fn('echo', { int64: 'int32' }).call([2n ** 60n])).toThrow(/an int beyond 2\^53/);
    expect(fn('echo', { int64: 'int32' }).call([2 ** 50])).toBe(2 ** 50);
    expect(() => fn('echo', { int64: 'int16' as never })).toThrow(TypeError);
  });

  it('Python values become JS values; a "__proto__" key stays an own property', () => {
    const out = fn('python_values').call() as Record<string, unknown>;
    expect(out).toEqual({
      none: null,
      bool: false,
      int: 42,
      float: 0.1,
      str: 'h\u00e9llo \u{1f600}',
      tuple: [1, 'two', [3]],
      nested: { a: { b: [null, { c: true }] } },
      ['__proto__']: 'an own key',
      empty_list: [],
      empty_dict: {},
    });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
  });

  it('anything else is a ResultError naming the Python type and where it was', () => {
    const bad = fn('bad');
    const cases: [string, RegExp][] = [
      [
        'set',
        /^invalid result from the Python function: result is a set, which has no JS counterpart$/,
      ],
      ['generator', /result\[1\]\['x'\] is a generator/],
      ['object_array', /result\[0\] is an array of dtype object/],
      ['complex', /result\['z'\] is an array of dtype complex128/],
      ['custom', /result\[2\] is a Custom/],
      ['int_key', /result\['ok'\] is a dict with a key of type int/],
      ['self', /nested deeper than 200 levels \(does the result hold itself\?\)/],
      ['datetime', /dtype datetime64\[D\]/],
    ];
    for (const [kind, message] of cases) {
      expect(() => bad.call([kind]), kind).toThrow(ResultError);
      expect(() => bad.call([kind]), kind).toThrow(message);
    }
  });

  it('deep and large nested results', () => {
    let value = fn('deep').call([150]);
    for (let i = 0; i < 150; i++) value = (value as unknown[])[0] as PythonResult;
    expect(value).toBe(1);
    expect(() => fn('deep').call([250])).toThrow(ResultError);
    const list = fn('big_list').call([1_000_000]) as number[];
    expect(list.length).toBe(1_000_000);
    expect(list[999_999]).toBe(999_999);
  });

  it('a Python exception is a PythonError with its type and traceback', async () => {
    expect(() => fn('echo').call([])).toThrow(PythonError);
    const error = (await fn('echo')
      .callAsync([1, 2])
      .catch((e: unknown) => e)) as PythonError;
    expect(error).toBeInstanceOf(PythonError);
    expect(error.type).toBe('TypeError');
    expect(error.traceback).toMatch(/TypeError: .*positional argument/);
    expect(() => new PythonFunction('functions', 'missing', { paths: [PROBE_DIR] })).toThrow(
      /AttributeError|has no attribute/,
    );
    expect(() => new PythonFunction('functions', '_kept', { paths: [PROBE_DIR] })).toThrow(
      /is not callable \(it is list\)/,
    );
  });
});

describe('zero copy out', () => {
  const fresh = fn('fresh');
  const alive = fn('fresh_alive');

  it('a fresh array is handed to JS as is, and released when JS lets go of it', async () => {
    fn('forget_fresh').call();
    let out: Float64Array | undefined = fresh.call([1_000_000]) as Float64Array;
    expect(out.length).toBe(1_000_000);
    expect(out[999_999]).toBe(999_999);
    expect(alive.call()).toBe(1); // the ndarray lives on behind the ArrayBuffer
    out[0] = 5; // nobody in Python can see it: JS may write
    out = undefined;
    for (let i = 0; i < 20 && alive.call() !== 0; i++) await settle();
    expect(alive.call()).toBe(0);
  });

  it('a sync loop of large results frees them as it goes, handed off or copied', async () => {
    // 40 results of 80 MB: 3.2 GB if each waited for the loop to yield (as Node-API
    // finalizers do); freed by the collector as it goes, the peak stays near a few of them.
    // The bound, 1.2 GB, is wide on both sides.
    const script = `
      const { PythonFunction } = require(${JSON.stringify(PACKAGE_ENTRY)});
      const { loadAddon } = require(${JSON.stringify(PACKAGE_ENTRY.replace('index.js', 'native.js'))});
      const ones = new PythonFunction('numpy', 'ones');
      const peaks = [];
      for (const mode of [0, 1]) {
        loadAddon().setResultTransfer(mode);
        let peak = 0;
        for (let i = 0; i < 40; i++) { ones.call([10_000_000]); peak = Math.max(peak, process.memoryUsage.rss()); }
        peaks.push(Math.round(peak / 2 ** 20));
      }
      console.log(JSON.stringify(peaks));`;
    const run = await runNode(script, { timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    const peaks = JSON.parse(run.stdout) as number[];
    for (const peak of peaks) expect(peak).toBeLessThan(1200);
  });

  it('small, shared and view results are copied', () => {
    fn('forget_fresh').call();
    fresh.call([100]); // below the hand-off size
    expect(alive.call()).toBe(0);
    const shared = fn('shared').call() as Float64Array;
    shared[0] = 123; // a copy: Python's module global is untouched
    expect(fn('shared_first').call()).toBe(0);
    const view = fn('shared_view').call() as Float64Array;
    expect(view[0]).toBe(10);
    const nested = fn('fresh_in_list').call([100_000]) as [Float64Array, { a: Float64Array }];
    expect(nested[0].length).toBe(100_000);
    expect(nested[1].a[99_999]).toBe(1);
  });

  it('copied, and as where external buffers are refused (Electron), the values are the same', async () => {
    const addon = loadAddon();
    for (const mode of [1, 2] as const) {
      fn('forget_fresh').call();
      addon.setResultTransfer(mode);
      try {
        const out = fresh.call([200_000]) as Float64Array;
        expect(out[199_999]).toBe(199_999);
        expect(alive.call()).toBe(0); // nothing kept in Python
        const asyncOut = (await fresh.callAsync([200_000])) as Float64Array;
        expect(asyncOut[12_345]).toBe(12_345);
      } finally {
        addon.setResultTransfer(0);
      }
    }
  });
});

describe('callAsync', () => {
  it('gives the same results as call, for every argument kind', async () => {
    const args = [
      Float32Array.from([1, 2]),
      ndarray(new Int16Array(6), [2, 3]),
      3,
      'x',
      [1n, null],
    ];
    expect(await describePy.callAsync(args, { k: true })).toEqual(
      describePy.call(args, { k: true }),
    );
    expect(await fn('of_dtype').callAsync(['int64'], {}, { int64: 'int32' })).toEqual(
      Int32Array.from([0, 1, 2, 3]),
    );
    await expect(fn('bad').callAsync(['set'])).rejects.toThrow(ResultError);
    await expect(describePy.callAsync([new Map()] as never)).rejects.toThrow(TypeError);
  });

  it('keeps its input alive while Python holds it, whatever JS does meanwhile', async () => {
    const data = new Float64Array(100_000).fill(1);
    const promise = fn('total').callAsync([data]);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    await settle();
    expect(await promise).toBe(100_000);
  });

  it('aborts, as detectAsync does', async () => {
    const controller = new AbortController();
    controller.abort(new Error('why'));
    await expect(fn('noop').callAsync([], {}, { signal: controller.signal })).rejects.toMatchObject(
      {
        name: 'AbortError',
        code: 'ABORT_ERR',
      },
    );
    const sleep = new PythonFunction('time', 'sleep');
    const late = new AbortController();
    const running = sleep.callAsync([0.3], {}, { signal: late.signal });
    setTimeout(() => late.abort(), 20);
    const started = Date.now();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(250); // rejected at the abort, not at the 300 ms end
  });

  it('close(): later calls throw ClosedError, queued ones reject with it; close twice is fine', async () => {
    const sleep = new PythonFunction('time', 'sleep');
    const f = fn('noop');
    const blocker = sleep.callAsync([0.2]);
    const queued = f.callAsync([]);
    f.close();
    f.close();
    await expect(queued).rejects.toThrow(ClosedError);
    await expect(queued).rejects.toThrow('the PythonFunction is closed');
    expect(() => f.call([])).toThrow(ClosedError);
    await expect(f.callAsync([])).rejects.toThrow(ClosedError);
    await blocker;
    const disposed = fn('noop');
    disposed[Symbol.dispose]();
    expect(() => disposed.call()).toThrow(ClosedError);
  });

  // Node 20 and 22 have no syntax for it; [Symbol.dispose] itself is tested above.
  it.runIf(hasUsing())(
    '`using` closes it at the end of the block (Node 24 and later)',
    async () => {
      const script = `
      const { PythonFunction, ClosedError } = require(${JSON.stringify(PACKAGE_ENTRY)});
      let escaped;
      {
        using f = new PythonFunction('numpy', 'median');
        console.log(f.call([Float64Array.from([1, 2, 3])]));
        escaped = f;
      }
      try { escaped.call([new Float64Array(1)]); } catch (e) { console.log(e instanceof ClosedError); }`;
      const run = await runNode(script);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('2\ntrue\n');
    },
  );

  it('works in a Worker, and a Worker ended mid-call leaves the process well', async () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const code = \`
        const { parentPort } = require('node:worker_threads');
        const { PythonFunction } = require(${JSON.stringify(PACKAGE_ENTRY)});
        const pct = new PythonFunction('numpy', 'percentile');
        const out = pct.call([Float64Array.from([1, 2, 3, 4, 5])], { q: 50 });
        new PythonFunction('time', 'sleep').callAsync([0.5]);
        new PythonFunction('numpy', 'ones').callAsync([300000]);
        parentPort.postMessage(out);
      \`;
      const w = new Worker(code, { eval: true });
      w.on('message', async (m) => { console.log('median', m); await w.terminate(); console.log('ended'); });
    `;
    const run = await runNode(script, { timeoutMs: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('median 3\nended\n');
    expect(run.status).toBe(0);
  });
});
