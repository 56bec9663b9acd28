"""MessagePack, the wire format of py-outliers' worker processes (src/pool-wire.ts: the other end).

The worker runs under any CPython from 3.9 with the standard library alone (docs/processes.md), so
it cannot require the `msgpack` package; this is the part of the MessagePack specification
(https://github.com/msgpack/msgpack/blob/master/spec.md) that the pool's messages use: nil,
booleans, integers up to 64 bits, float64, str, bin, array, map and ext. Arrays do not cross
in it (they go through shared memory), so the messages are small and a pure-Python codec is
fast enough (test/pool/ checks it against @msgpack/msgpack, the Node side's).

Frames on the pipes are a little-endian u32 byte length, then one MessagePack value.
"""

import struct


class ExtType:
    """An ext value: `code` (0-127) and its bytes."""

    __slots__ = ("code", "data")

    def __init__(self, code, data):
        self.code = code
        self.data = data

    def __eq__(self, other):
        return isinstance(other, ExtType) and (self.code, self.data) == (other.code, other.data)

    def __repr__(self):
        return f"ExtType({self.code}, {self.data!r})"


_pack_u16 = struct.Struct(">BH").pack
_pack_u32 = struct.Struct(">BI").pack


def _head(small_limit, small_tag, tags, n):
    """The header of a str/bin/array/map/ext of length n: fix form, 8, 16 or 32 bits."""
    if n < small_limit and small_tag is not None:
        return bytes((small_tag | n,))
    tag8, tag16, tag32 = tags
    if n < 256 and tag8 is not None:
        return bytes((tag8, n))
    if n < 65536:
        return _pack_u16(tag16, n)
    if n < 2**32:
        return _pack_u32(tag32, n)
    raise ValueError("a MessagePack value holds at most 2^32-1 items or bytes")


def _pack(value, out):
    if value is None:
        out.append(b"\xc0")
    elif value is True:
        out.append(b"\xc3")
    elif value is False:
        out.append(b"\xc2")
    elif type(value) is int:
        if 0 <= value < 128:
            out.append(bytes((value,)))
        elif -32 <= value < 0:
            out.append(struct.pack(">b", value))
        elif 0 <= value < 2**64:
            if value < 256:
                out.append(struct.pack(">BB", 0xCC, value))
            elif value < 65536:
                out.append(struct.pack(">BH", 0xCD, value))
            elif value < 2**32:
                out.append(struct.pack(">BI", 0xCE, value))
            else:
                out.append(struct.pack(">BQ", 0xCF, value))
        elif value >= -(2**63):
            if value >= -128:
                out.append(struct.pack(">Bb", 0xD0, value))
            elif value >= -32768:
                out.append(struct.pack(">Bh", 0xD1, value))
            elif value >= -(2**31):
                out.append(struct.pack(">Bi", 0xD2, value))
            else:
                out.append(struct.pack(">Bq", 0xD3, value))
        else:
            raise OverflowError("an int beyond 64 bits goes as an ext value")
    elif type(value) is float:
        out.append(struct.pack(">Bd", 0xCB, value))
    elif type(value) is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(_head(32, 0xA0, (0xD9, 0xDA, 0xDB), len(data)))
        out.append(data)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = memoryview(value).cast("B") if isinstance(value, memoryview) else value
        out.append(_head(0, None, (0xC4, 0xC5, 0xC6), len(data)))
        out.append(data)
    elif type(value) in (list, tuple):
        out.append(_head(16, 0x90, (None, 0xDC, 0xDD), len(value)))
        for item in value:
            _pack(item, out)
    elif type(value) is dict:
        out.append(_head(16, 0x80, (None, 0xDE, 0xDF), len(value)))
        for key, item in value.items():
            _pack(key, out)
            _pack(item, out)
    elif type(value) is ExtType:
        n = len(value.data)
        fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}.get(n)
        if fixed is not None:
            out.append(struct.pack(">Bb", fixed, value.code))
        else:
            out.append(_head(0, None, (0xC7, 0xC8, 0xC9), n))
            out.append(struct.pack(">b", value.code))
        out.append(value.data)
    else:
        raise TypeError(f"cannot encode a {type(value).__name__}")


def packb(value):
    """`value` (made of the types above) as MessagePack bytes."""
    out = []
    _pack(value, out)
    return b"".join(out)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data):
        self.data = memoryview(data).cast("B") if isinstance(data, memoryview) else data
        self.pos = 0

    def take(self, n):
        start = self.pos
        end = start + n
        if end > len(self.data):
            raise ValueError("a truncated MessagePack value")
        self.pos = end
        return self.data[start:end]

    def unpack(self, fmt, size):
        start = self.pos
        self.pos = start + size
        if self.pos > len(self.data):
            raise ValueError("a truncated MessagePack value")
        return struct.unpack_from(fmt, self.data, start)[0]

    def value(self, depth=0):
        if depth > 1000:
            raise ValueError("a MessagePack value nested too deep")
        tag = self.unpack(">B", 1)
        if tag < 0x80:
            return tag
        if tag >= 0xE0:
            return tag - 256
        if 0xA0 <= tag <= 0xBF:
            return self.str(tag & 0x1F)
        if 0x90 <= tag <= 0x9F:
            return self.list(tag & 0x0F, depth)
        if 0x80 <= tag <= 0x8F:
            return self.dict(tag & 0x0F, depth)
        if tag == 0xC0:
            return None
        if tag == 0xC2:
            return False
        if tag == 0xC3:
            return True
        simple = _SIMPLE.get(tag)
        if simple is not None:
            return self.unpack(*simple)
        if tag in (0xD9, 0xDA, 0xDB):
            return self.str(self.unpack(*_LENGTH[tag]))
        if tag in (0xC4, 0xC5, 0xC6):
            return bytes(self.take(self.unpack(*_LENGTH[tag])))
        if tag in (0xDC, 0xDD):
            return self.list(self.unpack(*_LENGTH[tag]), depth)
        if tag in (0xDE, 0xDF):
            return self.dict(self.unpack(*_LENGTH[tag]), depth)
        if tag in _FIXEXT:
            code = self.unpack(">b", 1)
            return ExtType(code, bytes(self.take(_FIXEXT[tag])))
        if tag in (0xC7, 0xC8, 0xC9):
            n = self.unpack(*_LENGTH[tag])
            code = self.unpack(">b", 1)
            return ExtType(code, bytes(self.take(n)))
        raise ValueError(f"MessagePack tag 0x{tag:02x} is not used on this wire")

    def str(self, n):
        return bytes(self.take(n)).decode("utf-8", "surrogatepass")

    def list(self, n, depth):
        return [self.value(depth + 1) for _ in range(n)]

    def dict(self, n, depth):
        out = {}
        for _ in range(n):
            key = self.value(depth + 1)
            out[key] = self.value(depth + 1)
        return out


_SIMPLE = {
    0xCA: (">f", 4),
    0xCB: (">d", 8),
    0xCC: (">B", 1),
    0xCD: (">H", 2),
    0xCE: (">I", 4),
    0xCF: (">Q", 8),
    0xD0: (">b", 1),
    0xD1: (">h", 2),
    0xD2: (">i", 4),
    0xD3: (">q", 8),
}
_LENGTH = {
    0xD9: (">B", 1),
    0xDA: (">H", 2),
    0xDB: (">I", 4),
    0xC4: (">B", 1),
    0xC5: (">H", 2),
    0xC6: (">I", 4),
    0xDC: (">H", 2),
    0xDD: (">I", 4),
    0xDE: (">H", 2),
    0xDF: (">I", 4),
    0xC7: (">B", 1),
    0xC8: (">H", 2),
    0xC9: (">I", 4),
}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def unpackb(data):
    """One MessagePack value from `data` (bytes), which must hold exactly that value."""
    reader = _Reader(data)
    value = reader.value()
    if reader.pos != len(reader.data):
        raise ValueError("extra bytes after a MessagePack value")
    return value
