// The typing of the public API, checked by the TypeScript compiler (make typecheck runs it
// over test/): results typed through the type parameters of call, callAsync and ndarray, with
// no cast, and the wrong argument types refused. At run time these tests only construct.
import { describe, expectTypeOf, it } from 'vitest';

import {
  ndarray,
  type NDArray,
  type PythonArgument,
  PythonFunction,
  type PythonResult,
} from '../../src/index.js';

describe('types', () => {
  it('call and callAsync give PythonResult, or the type named', () => {
    type Fn = InstanceType<typeof PythonFunction>;
    const untypedSync = (f: Fn) => f.call([]);
    expectTypeOf(untypedSync).returns.toEqualTypeOf<PythonResult>();
    expectTypeOf<Fn['call']>().parameter(0).toEqualTypeOf<readonly PythonArgument[] | undefined>();
    const typed = (f: Fn) => f.call<[Int32Array, { peak_heights: Float64Array }]>([]);
    expectTypeOf(typed).returns.toEqualTypeOf<[Int32Array, { peak_heights: Float64Array }]>();
    const typedAsync = (f: Fn) => f.callAsync<Float32Array>([]);
    expectTypeOf(typedAsync).returns.resolves.toEqualTypeOf<Float32Array>();
    const untyped = (f: Fn) => f.callAsync([]);
    expectTypeOf(untyped).returns.resolves.toEqualTypeOf<PythonResult>();
  });

  it('ndarray keeps the typed array type; wrong arguments do not compile', () => {
    expectTypeOf(ndarray<Float32Array>).returns.toEqualTypeOf<NDArray<Float32Array>>();
    expectTypeOf(ndarray(new Int16Array(6), [2, 3]).data).toEqualTypeOf<Int16Array<ArrayBuffer>>();
    const wrong = (f: InstanceType<typeof PythonFunction>) => {
      // @ts-expect-error a Map has no Python counterpart
      f.call([new Map()]);
      // @ts-expect-error keyword arguments are a plain object
      f.call([], [1]);
      // @ts-expect-error int64 is 'bigint', 'int32' or 'float64'
      f.call([], {}, { int64: 'int16' });
      // @ts-expect-error the data must be a typed array
      ndarray([1, 2], [2]);
    };
    expectTypeOf(wrong).toBeFunction();
  });
});
