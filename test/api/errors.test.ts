// Every error a user can meet, its class and message, and that the object keeps working.
import { describe, expect, it } from 'vitest';

import { ClosedError, Outliers, PythonError, ResultError } from '../../src/index.js';
import { PROBE_DIR, probe, seedCase } from '../helpers.js';

const o = new Outliers();

function expectStillWorks(detector: Outliers = o): void {
  expect(Array.from(new Outliers().detect(seedCase()))).toEqual([7, 113, 835]);
  if (detector !== o) return;
  expect(Array.from(detector.detect(seedCase()))).toEqual([7, 113, 835]);
}

describe('wrong input types', () => {
  const wrong: [string, unknown][] = [
    ['number[]', [1, 2, 3]],
    ['Float32Array', new Float32Array(3)],
    ['Int32Array', new Int32Array(3)],
    ['DataView', new DataView(new ArrayBuffer(24))],
    ['Buffer', Buffer.alloc(24)],
    ['ArrayBuffer', new ArrayBuffer(24)],
    ['null', null],
    ['undefined', undefined],
    ['a string', '1,2,3'],
    ['a number', 42],
    ['a Proxy of a Float64Array', new Proxy(new Float64Array(3), {})],
  ];
  for (const [name, value] of wrong) {
    it(`${name} -> TypeError`, () => {
      expect(() => o.detect(value as Float64Array)).toThrow(TypeError);
      expect(() => o.detect(value as Float64Array)).toThrow(/values must be a Float64Array/);
    });
  }

  it('a detached buffer -> TypeError', () => {
    const values = new Float64Array(16);
    structuredClone(values.buffer, { transfer: [values.buffer] });
    expect(values.length).toBe(0);
    expect(() => o.detect(values)).toThrow(TypeError);
    expect(() => o.detect(values)).toThrow(/detached/);
    expectStillWorks();
  });

  it('constructor arguments are checked', () => {
    expect(() => new Outliers('')).toThrow(TypeError);
    expect(() => new Outliers('outliers', 7 as unknown as string)).toThrow(TypeError);
    expect(() => new Outliers('outliers', 'detect', { paths: 'x' as unknown as string[] })).toThrow(
      TypeError,
    );
  });
});

describe('Python exceptions become PythonError', () => {
  function pythonError(funcName: string, detector: Outliers = probe(funcName)): PythonError {
    try {
      detector.detect(new Float64Array(5));
    } catch (error) {
      expect(error).toBeInstanceOf(PythonError);
      expect(error).toBeInstanceOf(Error);
      return error as PythonError;
    }
    throw new Error(`${funcName} did not throw`);
  }

  it('carries type, message and traceback, the same on every call of one object', () => {
    const raising = probe('raise_value_error');
    expect(pythonError('', raising).traceback).toBe(pythonError('', raising).traceback);
    const error = pythonError('raise_value_error');
    expect(error.name).toBe('PythonError');
    expect(error.type).toBe('ValueError');
    expect(error.message).toBe('bad data of length 5');
    expect(error.traceback).toMatch(/^Traceback \(most recent call last\):/);
    expect(error.traceback).toMatch(/probe\.py", line \d+, in raise_value_error/);
    expect(error.traceback).toMatch(/ValueError: bad data of length 5\n$/);
    expectStillWorks();
  });

  it('keeps chained exceptions in the traceback', () => {
    const error = pythonError('nested_failure');
    expect(error.type).toBe('RuntimeError');
    expect(error.traceback).toMatch(/KeyError: 'missing'/);
    expect(error.traceback).toMatch(/direct cause/);
  });

  it('SystemExit is an error, not an exit', () => {
    const error = pythonError('raise_system_exit');
    expect(error.type).toBe('SystemExit');
    expect(error.message).toBe('3');
    expectStillWorks();
  });

  it('KeyboardInterrupt is an error, not an exit', () => {
    expect(pythonError('raise_keyboard_interrupt').type).toBe('KeyboardInterrupt');
    expectStillWorks();
  });

  it('an exception whose str() raises still arrives', () => {
    const error = pythonError('raise_unprintable');
    expect(error.type).toBe('UnprintableError');
    expect(error.message).toMatch(/str\(\) failed/);
  });

  it('an exception in __del__ is reported by Python, not thrown, and the call succeeds', () => {
    expect(Array.from(probe('raises_in_del').detect(new Float64Array(3)))).toEqual([0]);
  });
});

describe('loading the function', () => {
  it('a missing module -> PythonError ModuleNotFoundError', () => {
    expect(() => new Outliers('no_such_module_xyz')).toThrow(PythonError);
    try {
      new Outliers('no_such_module_xyz');
    } catch (error) {
      expect((error as PythonError).type).toBe('ModuleNotFoundError');
      expect((error as PythonError).message).toMatch(/no_such_module_xyz/);
    }
  });

  it('a missing function -> PythonError AttributeError', () => {
    try {
      new Outliers('outliers', 'no_such_function');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PythonError);
      expect((error as PythonError).type).toBe('AttributeError');
      expect((error as PythonError).message).toMatch(/no_such_function/);
    }
  });

  it('an attribute that is not callable -> TypeError', () => {
    expect(() => new Outliers('probe', 'not_callable', { paths: [PROBE_DIR] })).toThrow(
      /probe\.not_callable is not callable/,
    );
    expect(() => new Outliers('probe', 'not_callable', { paths: [PROBE_DIR] })).toThrow(TypeError);
  });
});

describe('bad return values -> ResultError, and the object keeps working', () => {
  const cases: [string, RegExp][] = [
    ['returns_none', /NoneType/],
    ['returns_float_array', /integer indices, got numpy.ndarray of dtype float64/],
    ['returns_float_list', /dtype float64/],
    ['returns_2d', /2-D/],
    ['returns_mask', /boolean array/],
    ['returns_scalar', /0-D/],
    ['returns_input', /dtype float64/],
    ['returns_generator', /generator/],
    ['returns_strings', /dtype <U1/],
    ['returns_out_of_range', /index 5 at position 1 is outside \[0, 5\)/],
    ['returns_negative', /index -1 at position 0 is outside/],
    ['returns_huge_uint64', /is outside \[0, 5\)/],
    ['returns_too_many', /returned 10 indices for 5 input values/],
    ['returns_huge_list', /returned 10000000 indices for 5 input values/],
  ];
  for (const [name, message] of cases) {
    it(name, () => {
      const detector = probe(name);
      // Twice on the same object: the second call must fail the same way, not crash or differ.
      for (let attempt = 0; attempt < 2; attempt++) {
        let thrown: unknown;
        try {
          detector.detect(new Float64Array([1, 2, 3, 4, 5]));
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(ResultError);
        expect((thrown as Error).message).toMatch(/^invalid result from the Python function: /);
        expect((thrown as Error).message).toMatch(message);
      }
      expectStillWorks();
    });
  }

  it('an __array__ that raises -> ResultError, caused by the PythonError', () => {
    let thrown: unknown;
    try {
      probe('returns_bad_array').detect(new Float64Array(3));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ResultError);
    expect((thrown as Error).message).toMatch(/could not be read as indices: RuntimeError/);
    const cause = (thrown as Error).cause as PythonError;
    expect(cause).toBeInstanceOf(PythonError);
    expect(cause.type).toBe('RuntimeError');
    expect(cause.traceback).toMatch(/__array__ refused/);
  });
});

describe("Python cannot write to the caller's memory", () => {
  it('a write raises ValueError and the data is unchanged', () => {
    const values = new Float64Array([1, 2, 3]);
    try {
      probe('write_input').detect(values);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PythonError);
      expect((error as PythonError).type).toBe('ValueError');
      expect((error as PythonError).message).toMatch(/read-only/);
    }
    expect(Array.from(values)).toEqual([1, 2, 3]);
  });

  it('making the view writeable is refused too', () => {
    const values = new Float64Array([1, 2, 3]);
    expect(() => probe('force_writeable').detect(values)).toThrow(PythonError);
    expect(Array.from(values)).toEqual([1, 2, 3]);
  });
});

describe('close', () => {
  it('is idempotent and later calls throw ClosedError', async () => {
    const detector = new Outliers();
    detector.close();
    detector.close();
    expect(() => detector.detect(seedCase())).toThrow(ClosedError);
    expect(() => detector.detect(seedCase())).toThrow(/the Outliers detector is closed/);
    await expect(detector.detectAsync(seedCase())).rejects.toThrow(ClosedError);
    expectStillWorks();
  });
});
