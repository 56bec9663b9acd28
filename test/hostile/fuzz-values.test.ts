// Property-based tests (fast-check) of PythonFunction's value contract, hostile cases among
// them: random JS values through Python and back, random Python results (numpy scalars and
// arrays of every layout, subclasses whose methods would change what is being read) against a
// model of the rules, and random exception text. Seeded, so a failure reproduces; sized by
// PY_OUTLIERS_FUZZ_SCALE (1 in `make test`; `make fuzz` runs a longer campaign with a new seed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  ndarray,
  PythonError,
  PythonFunction,
  ResultError,
  type TypedArray,
} from '../../src/index.js';
import { FUZZ_SCALE, fuzzSeed, PROBE_DIR } from '../helpers.js';

type Int64As = 'bigint' | 'int32' | 'float64';
const hostile = (name: string) => new PythonFunction('hostile', name, { paths: [PROBE_DIR] });
const identity = hostile('identity');
const runs = (n: number) => ({ numRuns: n * FUZZ_SCALE, seed: fuzzSeed(n) });

// ---- strings: any UTF-16 code units, lone surrogates and pairs among them ---------------------

const codeUnit = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0xd800, max: 0xdfff }),
  fc.integer({ min: 0, max: 0xffff }),
);
const anyString = fc
  .array(codeUnit, { maxLength: 12 })
  .map((units) => String.fromCharCode(...units));

// ---- JS values in, and what each must come back as from an identity function ---------------

const MAX_SAFE = 2 ** 53 - 1;
const typedArray: fc.Arbitrary<TypedArray> = fc.oneof(
  fc.float64Array({ maxLength: 20 }),
  fc.float32Array({ maxLength: 20 }),
  fc.int8Array({ maxLength: 20 }),
  fc.int16Array({ maxLength: 20 }),
  fc.int32Array({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }),
  fc.uint16Array({ maxLength: 20 }),
  fc.uint32Array({ maxLength: 20 }),
  fc.uint8ClampedArray({ maxLength: 20 }),
  fc.bigInt64Array({ maxLength: 20 }),
  fc.bigUint64Array({ maxLength: 20 }),
);

/** A typed array at an offset inside a larger buffer, other data around it. */
const offsetArray = fc
  .tuple(typedArray, fc.nat(4), fc.nat(4))
  .map(([array, before, after]): TypedArray => {
    const Kind = array.constructor as new (n: number) => TypedArray;
    const backing = new Kind(before + array.length + after);
    (backing as unknown as { set(a: ArrayLike<unknown>, at: number): void }).set(array, before);
    return backing.subarray(before, before + array.length) as TypedArray;
  });

const { value: jsValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.double(),
    fc.integer(),
    fc.constantFrom(MAX_SAFE, -MAX_SAFE, 2 ** 53, -0),
    fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
    fc.boolean(),
    fc.constantFrom(null, undefined),
    anyString,
    offsetArray,
    fc
      .tuple(typedArray, fc.constantFrom(0, 1, 2))
      .map(([data, kind]) =>
        kind === 0
          ? ndarray(data, [data.length])
          : kind === 1
            ? ndarray(data, [1, data.length])
            : ndarray(data, [data.length, 1, 1]),
      ),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.sparseArray(fc.integer(), { maxLength: 6 }),
    fc.dictionary(
      anyString.filter((k) => k !== 'data' && k !== 'shape'),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
}));

/** What an identity function gives back for `value` (docs/values.md). */
function roundTrip(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number')
    return Number.isSafeInteger(value) || Object.is(value, -0) ? value + 0 : value;
  if (typeof value === 'bigint') {
    return value >= -BigInt(MAX_SAFE) && value <= BigInt(MAX_SAFE) ? Number(value) : value;
  }
  if (ArrayBuffer.isView(value)) {
    // A copy of Python's view; Uint8ClampedArray has no numpy counterpart but uint8.
    return value instanceof Uint8ClampedArray
      ? Uint8Array.from(value)
      : (value as TypedArray).slice();
  }
  if (Array.isArray(value)) return Array.from(value, roundTrip); // holes read as undefined
  const record = value as Record<string, unknown>;
  if (Object.keys(record).length === 2 && ArrayBuffer.isView(record.data) && 'shape' in record) {
    const shape = record.shape as number[];
    const data = roundTrip(record.data);
    return shape.length === 1 ? data : { data, shape };
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, roundTrip(v)]));
}

describe('JS values through Python and back', () => {
  it('call and callAsync give back what the rules say, strings exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(jsValue, { maxLength: 3 }), async (args) => {
        const expected = roundTrip(args);
        expect(identity.call([args as never])).toEqual(expected);
        expect(await identity.callAsync([args as never])).toEqual(expected);
      }),
      runs(1000),
    );
  });

  it('keyword names are any string, lone surrogates included', () => {
    const keywords = hostile('keywords');
    fc.assert(
      fc.property(fc.dictionary(anyString, fc.integer(), { maxKeys: 5 }), (kwargs) => {
        expect(keywords.call([], kwargs)).toEqual({ ...kwargs });
      }),
      runs(200),
    );
  });
});

// ---- Python results from a spec, against a model -------------------------------------------

type Spec =
  | { t: 'none' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: string }
  | { t: 'float'; v: string }
  | { t: 'str'; v: string }
  | { t: 'list' | 'tuple' | 'victim_list'; v: Spec[] }
  | { t: 'dict'; v: [string, Spec][] }
  | { t: 'array'; dtype: string; v: number[]; shape: number[]; fortran: boolean; swapped: boolean }
  | { t: 'npscalar'; dtype: string; v: number }
  | { t: 'hostile'; v: string };

const INVALID = Symbol('invalid');
type Expected = unknown;

const DTYPES: Record<string, [new (n: number) => TypedArray, number, number]> = {
  int8: [Int8Array, -128, 127],
  uint8: [Uint8Array, 0, 255],
  int16: [Int16Array, -(2 ** 15), 2 ** 15 - 1],
  uint16: [Uint16Array, 0, 2 ** 16 - 1],
  int32: [Int32Array, -(2 ** 31), 2 ** 31 - 1],
  uint32: [Uint32Array, 0, 2 ** 32 - 1],
  int64: [BigInt64Array, -(2 ** 40), 2 ** 40],
  uint64: [BigUint64Array, 0, 2 ** 40],
  float32: [Float32Array, -1000, 1000],
  float64: [Float64Array, -1e6, 1e6],
  bool: [Uint8Array, 0, 1],
};

/** The same int under an int64 mode: a number, a bigint, or invalid. */
function intUnder(value: bigint, mode: Int64As): unknown {
  const exact = value >= -(2n ** 53n) && value <= 2n ** 53n;
  if (mode !== 'bigint') return exact ? Number(value) : INVALID;
  return value >= -BigInt(MAX_SAFE) && value <= BigInt(MAX_SAFE) ? Number(value) : value;
}

const HOSTILE: Record<string, (mode: Int64As) => unknown> = {
  index: () => 7,
  float32: () => 2.5,
  float: () => 2.5,
  int: (mode) => intUnder(2n ** 70n, mode),
  small_int: () => -12,
  zero_d: () => 3.5,
  array: () => Int32Array.from([0, 1, 2, 3]),
};

function arrayUnder(spec: Extract<Spec, { t: 'array' }>, mode: Int64As): unknown {
  const [Kind] = DTYPES[spec.dtype]!;
  let data: TypedArray;
  if (spec.dtype === 'int64' || spec.dtype === 'uint64') {
    // Every value here is within 2^40: it fits Float64Array; Int32Array only within int32.
    if (mode === 'int32') {
      if (spec.v.some((v) => v < -(2 ** 31) || v >= 2 ** 31)) return INVALID;
      data = Int32Array.from(spec.v);
    } else if (mode === 'float64') {
      data = Float64Array.from(spec.v);
    } else {
      data = (Kind as unknown as { from(a: bigint[]): TypedArray }).from(spec.v.map(BigInt));
    }
  } else {
    data = (Kind as unknown as { from(a: number[]): TypedArray }).from(spec.v);
  }
  return spec.shape.length === 1 ? data : { data, shape: spec.shape };
}

/** What the reader must give for `spec`, or INVALID for a ResultError. */
function model(spec: Spec, mode: Int64As): Expected {
  switch (spec.t) {
    case 'none':
      return null;
    case 'bool':
      return spec.v;
    case 'int':
      return intUnder(BigInt(spec.v), mode);
    case 'float':
      return Number(spec.v);
    case 'str':
      return spec.v;
    case 'list':
    case 'tuple':
    case 'victim_list': {
      const items = spec.v.map((s) => model(s, mode));
      return items.includes(INVALID) ? INVALID : items;
    }
    case 'dict': {
      // A later equal key replaces the value, as in Python; "__proto__" is a key like any other.
      const out: Record<string, unknown> = {};
      for (const [k, s] of spec.v) {
        const value = model(s, mode);
        Object.defineProperty(out, k, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return Object.values(out).includes(INVALID) ? INVALID : out;
    }
    case 'array':
      return arrayUnder(spec, mode);
    case 'npscalar':
      if (spec.dtype === 'bool') return spec.v !== 0;
      if (spec.dtype.startsWith('float')) return spec.v; // whole numbers: exact in float32
      return intUnder(BigInt(spec.v), mode);
    case 'hostile':
      return HOSTILE[spec.v]!(mode);
  }
}

const dtypeName = fc.constantFrom(...Object.keys(DTYPES));
const arraySpec = dtypeName.chain((dtype) => {
  const [, min, max] = DTYPES[dtype]!;
  const element = dtype.startsWith('float')
    ? fc.integer({ min, max }).map((v) => v / 4) // exact in float32 too
    : fc.integer({ min, max });
  return fc
    .record({
      shape: fc.constantFrom<number[]>([6], [2, 3], [3, 2], [1, 6], [6, 1], [0], [0, 3], [2, 1, 3]),
      fortran: fc.boolean(),
      swapped: fc.boolean().map((b) => b && dtype !== 'bool'),
    })
    .chain((s) =>
      fc
        .array(element, {
          minLength: s.shape.reduce((a, b) => a * b, 1),
          maxLength: s.shape.reduce((a, b) => a * b, 1),
        })
        .map((v) => ({ t: 'array' as const, dtype, v, ...s })),
    );
});

const { spec: resultSpec } = fc.letrec<{ spec: Spec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: 'small' },
    fc.constant({ t: 'none' as const }),
    fc.boolean().map((v) => ({ t: 'bool' as const, v })),
    fc
      .oneof(
        fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
        fc.constantFrom(2n ** 53n, -(2n ** 53n), 2n ** 53n + 1n),
      )
      .map((v) => ({ t: 'int' as const, v: String(v) })),
    fc.double().map((v) => ({ t: 'float' as const, v: Object.is(v, -0) ? '-0' : String(v) })),
    anyString.map((v) => ({ t: 'str' as const, v })),
    arraySpec,
    fc
      .tuple(
        fc.constantFrom('int8', 'uint8', 'int64', 'uint64', 'float32', 'bool'),
        fc.integer({ min: 0, max: 100 }),
      )
      .map(([dtype, v]) => ({ t: 'npscalar' as const, dtype, v: dtype === 'bool' ? v % 2 : v })),
    fc.constantFrom(...Object.keys(HOSTILE)).map((v) => ({ t: 'hostile' as const, v })),
    fc
      .tuple(
        fc.constantFrom('list', 'tuple', 'victim_list') as fc.Arbitrary<
          'list' | 'tuple' | 'victim_list'
        >,
        fc.array(tie('spec'), { maxLength: 4 }),
      )
      .map(([t, v]) => ({ t, v })),
    fc
      .array(fc.tuple(anyString, tie('spec')), { maxLength: 4 })
      .map((v) => ({ t: 'dict' as const, v })),
  ),
}));

describe('Python results, hostile ones among them, against the rules', () => {
  const fromSpec = (mode: Int64As) =>
    new PythonFunction('hostile', 'from_json_spec', { paths: [PROBE_DIR], int64: mode });
  const makers = {
    bigint: fromSpec('bigint'),
    int32: fromSpec('int32'),
    float64: fromSpec('float64'),
  };
  const methodsCalled = hostile('methods_called');
  const reset = hostile('reset');

  it('every result is what the model says, or a ResultError where it says so; no method is called', async () => {
    await fc.assert(
      fc.asyncProperty(
        resultSpec,
        fc.constantFrom<Int64As>('bigint', 'int32', 'float64'),
        fc.boolean(),
        async (spec, mode, viaAsync) => {
          reset.call();
          const expected = model(spec, mode);
          const json = JSON.stringify(spec);
          const run = () =>
            viaAsync
              ? makers[mode].callAsync([json])
              : Promise.resolve().then(() => makers[mode].call([json]));
          if (expected === INVALID) {
            await expect(run()).rejects.toThrow(ResultError);
          } else {
            expect(await run()).toEqual(expected);
          }
          // __array_finalize__ runs when a hostile array is made, before the reader starts.
          expect(
            (methodsCalled.call() as string[]).filter((m) => m !== '__array_finalize__'),
          ).toEqual([]);
        },
      ),
      runs(2000),
    );
  });
});

// ---- exception text ----------------------------------------------------------------------

/** Python's backslashreplace of what UTF-8 cannot carry: a lone surrogate as "\\udc80". */
function asPythonWrites(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0)!;
    out += code >= 0xd800 && code <= 0xdfff ? `\\u${code.toString(16)}` : c;
  }
  return out;
}

describe('exception text', () => {
  const raiseWith = hostile('raise_with');

  it('message and traceback carry the whole text, NULs included', async () => {
    await fc.assert(
      fc.asyncProperty(anyString, fc.boolean(), async (message, viaAsync) => {
        const error = (await (
          viaAsync
            ? raiseWith.callAsync([message])
            : Promise.resolve().then(() => raiseWith.call([message]))
        ).catch((e: unknown) => e)) as PythonError;
        expect(error).toBeInstanceOf(PythonError);
        expect(error.message).toBe(asPythonWrites(message));
        // format_exception writes "ValueError" alone for an empty message.
        const last = message === '' ? 'ValueError\n' : `ValueError: ${asPythonWrites(message)}\n`;
        expect(error.traceback.endsWith(last)).toBe(true);
      }),
      runs(200),
    );
  });
});
