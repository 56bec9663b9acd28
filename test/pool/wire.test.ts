// python/py_outliers_wire.py, the worker's own MessagePack codec, against @msgpack/msgpack (the
// Node side's): random values encoded by Node must decode in Python and encode back to the very
// same bytes; every value cut short must fail as a ValueError, never as another exception or a
// wrong value. A codec bug would otherwise show up only as a wrong argument in some call.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { encode, ExtData } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';

import { frame } from '../../src/pool-wire.js';
import { BUILD_PYTHON, ROOT } from '../helpers.js';

/** Park-Miller, so that a failure reproduces from its seed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

/** A random value of every kind the wire carries, nested up to `depth`. */
function value(next: () => number, depth: number): unknown {
  const kind = Math.floor(next() * (depth > 0 ? 12 : 9));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  switch (kind) {
    case 0:
      return pick([null, true, false]);
    case 1: // each integer form's edges: fixint, 8, 16, 32 bits, safe 53 bits
      return pick([0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]);
    case 2:
      return -pick([1, 32, 33, 128, 129, 32768, 32769, 2 ** 31, 2 ** 31 + 1, 2 ** 53 - 1]);
    case 3:
      return Math.floor((next() - 0.5) * 2 ** 40);
    case 4:
      return pick([0.5, -1.25, 1e300, -1e-300, NaN, Infinity, -Infinity, next()]);
    case 5: // 64-bit integers (useBigInt64 on both ends)
      return pick([2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, -(2n ** 40n) - 7n]);
    case 6: {
      const length = pick([0, 1, 31, 32, 255, 256, 70000]);
      const chars = ['a', 'é', '€', '😀', '\u0000', '"'];
      let out = '';
      while (out.length < length) out += pick(chars);
      return out;
    }
    case 7:
      return Uint8Array.from({ length: pick([0, 1, 255, 256, 70000]) }, () => next() * 256);
    case 8: {
      const size = pick([1, 2, 3, 4, 8, 16, 17, 300]);
      return new ExtData(
        Math.floor(next() * 128),
        Uint8Array.from({ length: size }, () => next() * 256),
      );
    }
    case 9:
    case 10:
      return Array.from({ length: pick([0, 1, 15, 16, 40]) }, () => value(next, depth - 1));
    default: {
      const out: Record<string, unknown> = {};
      const size = pick([0, 1, 15, 16, 20]);
      for (let i = 0; i < size; i++) out[`k${i}${pick(['', 'é', '😀'])}`] = value(next, depth - 1);
      return out;
    }
  }
}

/** Python: how many cuts of `data` `decode` took for a value (each must be a ValueError). */
const CUT_SHORT = `
def cut_short(decode, data):
    bad = 0
    step = 1 if len(data) < 2000 else len(data) // 50 + 1  # every cut of the small ones
    for cut in range(0, len(data), step):
        try:
            decode(data[:cut])
        except ValueError:
            continue
        print("a cut value decoded", data[:cut].hex())
        bad += 1
    return bad
`;

/** Runs a check script on `lines` (hex, one a line): it must print "checked 0" and no error. */
function expectChecked(script: string, lines: string[]): void {
  const run = spawnSync(BUILD_PYTHON, ['-c', script, path.join(ROOT, 'python')], {
    input: lines.join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  expect(run.stderr).toBe('');
  expect(run.stdout.trimEnd().split('\n').slice(0, 5).join('\n')).toBe('checked 0');
}

const CHECK = `${CUT_SHORT}
import sys
sys.path.insert(0, sys.argv[1])
import py_outliers_wire as wire
bad = 0
for line in sys.stdin:
    data = bytes.fromhex(line.strip())
    again = wire.packb(wire.unpackb(data))
    if again != data:
        print("mismatch", data.hex(), again.hex())
        bad += 1
    bad += cut_short(wire.unpackb, data)
print("checked", bad)
`;

describe('py_outliers_wire.py against @msgpack/msgpack', () => {
  it('decodes and re-encodes 150 random values to the same bytes; every truncation is a ValueError', () => {
    const next = random(20261206);
    const lines: string[] = [];
    for (let i = 0; i < 150; i++) {
      lines.push(Buffer.from(encode(value(next, 3), { useBigInt64: true })).toString('hex'));
    }
    expectChecked(CHECK, lines);
  });
});

const CHECK_CALLS = `${CUT_SHORT}
import sys
sys.path.insert(0, sys.argv[1])
import py_outliers_wire as wire
import py_outliers_worker as worker
bad = 0
for line in sys.stdin:
    body = bytes.fromhex(line.strip())
    plain = wire.unpackb(body)
    # Twice: decoded, then (a call's tail that fits the cache) taken from the cache.
    for _ in range(2):
        got = worker.decode_message(body)
        if wire.packb(got) != body or type(got) is not list or len(got) != len(plain):
            print("differs", body.hex())
            bad += 1
    if plain[0] == worker.CALL:
        # What the called code is given is its own: changing it changes no later call's values.
        try:
            args = worker.Arguments(worker.Regions()).value(got[4])
        except ValueError:  # a random ext type no call has
            args = None
        if args is not None:
            args.append("changed")
        if args is not None and wire.packb(worker.decode_message(body)) != body:
            print("a call's values changed a later call's", body.hex())
            bad += 1
    bad += cut_short(worker.decode_message, body)
print("checked", bad)
`;

describe("py_outliers_worker.py's decode_message (a call's repeated tail decoded once)", () => {
  it('gives what a plain decode gives, for 300 random messages, twice each, and every cut is a ValueError', () => {
    const next = random(20261207);
    const lines: string[] = [];
    const tails: unknown[][] = [];
    for (let i = 0; i < 300; i++) {
      // Calls as the pool frames them, some with the same tail as an earlier one (a new id);
      // and the other kinds of message.
      let message: unknown[];
      if (i % 10 === 9) message = [1 + (i % 3), Math.floor(next() * 2 ** 31)];
      else if (i % 3 === 2 && tails.length > 0) {
        message = [
          0,
          Math.floor(next() * 2 ** 40) + 0.5 * (i % 2),
          ...tails[Math.floor(next() * tails.length)]!,
        ];
      } else {
        const spec = next() < 0.3 ? ['module', 'name', ['/a/path'], 0] : null;
        const args = Array.from({ length: Math.floor(next() * 4) }, () => value(next, 1));
        const kwargs = next() < 0.5 ? {} : { k: value(next, 1) };
        const tail = [Math.floor(next() * 1000), spec, args, kwargs, Math.floor(next() * 3)];
        tails.push(tail);
        message = [0, i, ...tail];
      }
      lines.push(Buffer.from(frame(message).subarray(4)).toString('hex'));
    }
    expectChecked(CHECK_CALLS, lines);
  });
});
