// python/grpc_server.py reads a Functions call's pieces in place (PieceView) instead of through
// protobuf's parser, which copies every array byte twice. Here it is held to protobuf's own
// reading: random pieces (empty and long fields, fields in either order, repeated fields, unknown
// fields of every wire type) must read the same, and a piece cut short anywhere must be a
// ValueError, never a wrong field.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { BUILD_PYTHON, ROOT } from '../helpers.js';

const SCRIPT = String.raw`
import random, sys
sys.argv = ["grpc_server.py"]
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})
import grpc_server as g
from google.protobuf.message import DecodeError

def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not out[-1] & 0x80:
            return bytes(out)

def field(rng, number):
    kind = rng.choice((0, 1, 2, 5)) if number > 2 else 2
    key = varint(number << 3 | kind)
    if kind == 0:
        return key + varint(rng.choice((0, 1, 127, 128, 2**35, 2**64 - 1)))
    if kind == 1:
        return key + rng.randbytes(8)
    if kind == 5:
        return key + rng.randbytes(4)
    return key + (lambda b: varint(len(b)) + b)(rng.randbytes(rng.choice((0, 1, 127, 128, 70000))))

rng = random.Random(7)
checked = cut = 0
for _ in range(300):
    numbers = [rng.choice((1, 2, 3, 17, 2**20)) for _ in range(rng.randrange(0, 5))]
    message = b"".join(field(rng, n) for n in numbers)
    expected = g.detect_pb2.Piece.FromString(message)
    got = g.PieceView(message)
    assert bytes(got.header) == expected.header, numbers
    assert bytes(got.data) == expected.data, numbers
    assert got.data.readonly and got.header.readonly
    checked += 1
    for end in sorted({rng.randrange(0, len(message)) for _ in range(3)} if message else ()):
        try:
            g.detect_pb2.Piece.FromString(message[:end])
        except DecodeError:
            try:
                g.PieceView(message[:end])
            except ValueError:
                cut += 1
            else:
                raise AssertionError(f"a truncation at {end} read as a piece: {numbers}")
for bad in (b"\x08", b"\x0a\x05ab", b"\x0b", b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"):
    try:
        g.PieceView(bad)
    except ValueError:
        cut += 1
    else:
        raise AssertionError(f"{bad!r} read as a piece")
print(checked, cut)
`;

describe('the server reads a Piece in place', () => {
  it('as protobuf does, and refuses what protobuf refuses', () => {
    const run = spawnSync(BUILD_PYTHON, ['-c', SCRIPT], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const [checked, cut] = run.stdout.trim().split(' ').map(Number);
    expect(checked).toBe(300);
    expect(cut).toBeGreaterThan(100);
  });
});
