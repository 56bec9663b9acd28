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
_pack_tagged = {
    fmt: struct.Struct(fmt).pack
    for fmt in (">Bb", ">BB", ">BH", ">BI", ">BQ", ">Bh", ">Bi", ">Bq", ">Bd")
}
# One byte's values, made once: most of a message is small ints and short lists.
_BYTE = [bytes((i,)) for i in range(256)]
_FIXEXT_TAG = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}


def _head(small_limit, small_tag, tags, n):
    """The header of a str/bin/array/map/ext of length n: fix form, 8, 16 or 32 bits."""
    if n < small_limit and small_tag is not None:
        return _BYTE[small_tag | n]
    tag8, tag16, tag32 = tags
    if n < 256 and tag8 is not None:
        return _BYTE[tag8] + _BYTE[n]
    if n < 65536:
        return _pack_u16(tag16, n)
    if n < 2**32:
        return _pack_u32(tag32, n)
    raise ValueError("a MessagePack value holds at most 2^32-1 items or bytes")


def _pack_int(value):
    if 0 <= value < 128:
        return _BYTE[value]
    if -32 <= value < 0:
        return _BYTE[value + 256]
    if 0 <= value < 2**64:
        if value < 256:
            return _BYTE[0xCC] + _BYTE[value]
        if value < 65536:
            return _pack_tagged[">BH"](0xCD, value)
        if value < 2**32:
            return _pack_tagged[">BI"](0xCE, value)
        return _pack_tagged[">BQ"](0xCF, value)
    if value >= -(2**63):
        if value >= -128:
            return _pack_tagged[">Bb"](0xD0, value)
        if value >= -32768:
            return _pack_tagged[">Bh"](0xD1, value)
        if value >= -(2**31):
            return _pack_tagged[">Bi"](0xD2, value)
        return _pack_tagged[">Bq"](0xD3, value)
    raise OverflowError("an int beyond 64 bits goes as an ext value")


def _pack(value, out):
    # The branches in the order the messages use the types most (the worker's hot path).
    kind = type(value)
    if kind is int:
        out.append(_pack_int(value))
    elif kind is list or kind is tuple:
        n = len(value)
        out.append(_BYTE[0x90 | n] if n < 16 else _head(0, None, (None, 0xDC, 0xDD), n))
        for item in value:
            _pack(item, out)
    elif value is None:
        out.append(b"\xc0")
    elif value is True:
        out.append(b"\xc3")
    elif value is False:
        out.append(b"\xc2")
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(_head(32, 0xA0, (0xD9, 0xDA, 0xDB), len(data)))
        out.append(data)
    elif kind is float:
        out.append(_pack_tagged[">Bd"](0xCB, value))
    elif kind is ExtType:
        n = len(value.data)
        fixed = _FIXEXT_TAG.get(n)
        if fixed is not None:
            out.append(_pack_tagged[">Bb"](fixed, value.code))
        else:
            out.append(_head(0, None, (0xC7, 0xC8, 0xC9), n))
            out.append(_BYTE[value.code & 0xFF])
        out.append(value.data)
    elif kind is dict:
        out.append(_head(16, 0x80, (None, 0xDE, 0xDF), len(value)))
        for key, item in value.items():
            _pack(key, out)
            _pack(item, out)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = memoryview(value).cast("B") if isinstance(value, memoryview) else value
        out.append(_head(0, None, (0xC4, 0xC5, 0xC6), len(data)))
        out.append(data)
    else:
        raise TypeError(f"cannot encode a {type(value).__name__}")


def packb(value):
    """`value` (made of the types above) as MessagePack bytes."""
    out = []
    _pack(value, out)
    return b"".join(out)


_unpack_from = struct.unpack_from
# Tags followed by a fixed-size number: (struct format, size).
_NUMBER = {
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
# Tags followed by a length: (struct format, size, what follows).
_STR, _BIN, _ARRAY, _MAP, _EXT = range(5)
_SIZED = {
    0xD9: (">B", 1, _STR),
    0xDA: (">H", 2, _STR),
    0xDB: (">I", 4, _STR),
    0xC4: (">B", 1, _BIN),
    0xC5: (">H", 2, _BIN),
    0xC6: (">I", 4, _BIN),
    0xDC: (">H", 2, _ARRAY),
    0xDD: (">I", 4, _ARRAY),
    0xDE: (">H", 2, _MAP),
    0xDF: (">I", 4, _MAP),
    0xC7: (">B", 1, _EXT),
    0xC8: (">H", 2, _EXT),
    0xC9: (">I", 4, _EXT),
}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def _bytes(data, pos, n):
    end = pos + n
    if end > len(data):
        raise ValueError("a truncated MessagePack value")
    return data[pos:end], end


def _unpack(data, pos, depth):
    """The value at data[pos] (data: bytes), and the position after it. A value cut short
    raises IndexError or struct.error, which unpackb reports as ValueError."""
    tag = data[pos]
    pos += 1
    if tag < 0x80:
        return tag, pos
    if tag >= 0xE0:
        return tag - 256, pos
    if depth > 1000:
        raise ValueError("a MessagePack value nested too deep")
    if tag < 0x90:
        return _map(data, pos, tag & 0x0F, depth)
    if tag < 0xA0:
        out = []
        for _ in range(tag & 0x0F):
            item, pos = _unpack(data, pos, depth + 1)
            out.append(item)
        return out, pos
    if tag < 0xC0:
        raw, pos = _bytes(data, pos, tag & 0x1F)
        return raw.decode("utf-8", "surrogatepass"), pos
    if tag == 0xC0:
        return None, pos
    if tag == 0xC2:
        return False, pos
    if tag == 0xC3:
        return True, pos
    number = _NUMBER.get(tag)
    if number is not None:
        return _unpack_from(number[0], data, pos)[0], pos + number[1]
    fixext = _FIXEXT.get(tag)
    if fixext is not None:
        code = _unpack_from(">b", data, pos)[0]
        raw, pos = _bytes(data, pos + 1, fixext)
        return ExtType(code, raw), pos
    sized = _SIZED.get(tag)
    if sized is None:
        raise ValueError(f"MessagePack tag 0x{tag:02x} is not used on this wire")
    fmt, size, what = sized
    n = _unpack_from(fmt, data, pos)[0]
    pos += size
    if what == _STR:
        raw, pos = _bytes(data, pos, n)
        return raw.decode("utf-8", "surrogatepass"), pos
    if what == _BIN:
        return _bytes(data, pos, n)
    if what == _ARRAY:
        out = []
        for _ in range(n):
            item, pos = _unpack(data, pos, depth + 1)
            out.append(item)
        return out, pos
    if what == _MAP:
        return _map(data, pos, n, depth)
    code = _unpack_from(">b", data, pos)[0]
    raw, pos = _bytes(data, pos + 1, n)
    return ExtType(code, raw), pos


def _map(data, pos, n, depth):
    out = {}
    for _ in range(n):
        key, pos = _unpack(data, pos, depth + 1)
        out[key], pos = _unpack(data, pos, depth + 1)
    return out, pos


def unpackb(data):
    """One MessagePack value from `data` (bytes), which must hold exactly that value."""
    return unpack_values(bytes(data), 0, 1)[0]


def unpack_values(data, pos, count):
    """`count` MessagePack values one after another from `data` (bytes) at `pos`, which must end
    with them: a list."""
    values = []
    try:
        for _ in range(count):
            value, pos = _unpack(data, pos, 0)
            values.append(value)
    except (IndexError, struct.error):
        raise ValueError("a truncated MessagePack value") from None
    if pos != len(data):
        raise ValueError("extra bytes after a MessagePack value")
    return values


def unpack_from(data, pos):
    """The value at `data[pos]` (bytes), and the position after it."""
    try:
        return _unpack(data, pos, 0)
    except (IndexError, struct.error):
        raise ValueError("a truncated MessagePack value") from None
