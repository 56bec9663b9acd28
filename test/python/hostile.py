"""Hostile Python for test/hostile/hostile.test.ts and test/hostile/fuzz.test.ts: subclasses
whose methods run code while a result is read, results that change under the reader, values
that keep a way back in, exceptions with text UTF-8 cannot carry, and a maker of results from a
JSON spec.
"""

import json
import time
import weakref

import numpy as np

# What the hostile methods below empty when they run: the result being read.
victim = []
# What a method was called for, so a test can tell that none was.
calls = []
# Whether the result is made: __array_finalize__ also runs while a hostile array is built, and
# only what runs after that counts.
armed = [False]


def identity(value=None):
    return value


def keywords(**kwargs):
    return kwargs


def reset():
    victim.clear()
    calls.clear()
    armed[0] = False


def _made(result):
    """The result is made: from here every hostile method counts."""
    calls.clear()
    armed[0] = True
    return result


def methods_called():
    return list(calls)


# ---- subclasses whose overridable methods change the result ------------------------------


class ClearingIndex(np.int64):
    def __index__(self):
        calls.append("__index__")
        victim.clear()
        return 1

    def __int__(self):
        calls.append("__int__")
        victim.clear()
        return 1


class ClearingFloat32(np.float32):
    def __float__(self):
        calls.append("__float__")
        victim.clear()
        return 1.0


class ClearingFloat(float):
    def __float__(self):
        calls.append("__float__")
        victim.clear()
        return 1.0


class ClearingInt(int):
    def __abs__(self):
        calls.append("__abs__")
        victim.clear()
        return -1

    def __index__(self):
        calls.append("__index__")
        victim.clear()
        return 0


class ClearingArray(np.ndarray):
    def item(self, *args):
        calls.append("item")
        victim.clear()
        return 5

    def __array_finalize__(self, obj):
        if armed[0]:
            calls.append("__array_finalize__")
            victim.clear()


def _hostile(kind):
    if kind == "index":
        return ClearingIndex(7)
    if kind == "float32":
        return ClearingFloat32(2.5)
    if kind == "float":
        return ClearingFloat(2.5)
    if kind == "int":
        return ClearingInt(2**70)
    if kind == "small_int":
        return ClearingInt(-12)
    if kind == "zero_d":
        return np.array(3.5).view(ClearingArray)
    if kind == "array":  # a byte-swapped subclass: the reader must convert it
        return np.arange(4, dtype=">i4").view(ClearingArray)
    raise ValueError(kind)


def list_with(kind, n=50):
    """A list whose first item is hostile and the rest fill freed memory if the list is emptied."""
    global victim
    armed[0] = False
    victim = [_hostile(kind)] + [np.zeros(1000) + i for i in range(n)]
    return _made(victim)


def dict_with(kind, n=50):
    global victim
    armed[0] = False
    victim = {"first": _hostile(kind)}
    for i in range(n):
        victim[f"k{i}"] = float(i)
    return _made(victim)


def bare(kind):
    armed[0] = False
    return _made(_hostile(kind))


def int_beyond_with_bad_abs():
    """An int beyond 64 bits whose __abs__ returns -1: reading it through abs() never ends."""
    return ClearingInt(-(2**80) + 3)


# ---- hand-off: arrays Python can still reach ------------------------------------------------

_weak = []


def fresh_weakly_watched(n):
    """A fresh array with a weak reference kept: Python can still reach it."""
    a = np.zeros(n)
    _weak.append(weakref.ref(a))
    return a


def write_through_weakref(value):
    """Writes into every array fresh_weakly_watched made that is still alive."""
    wrote = 0
    for ref in _weak:
        a = ref()
        if a is not None:
            try:
                a[:] = value
                wrote += 1
            except ValueError:
                pass
    return wrote


def forget_weak():
    _weak.clear()


# ---- values at the contract's edges ---------------------------------------------------------


def int_of(text):
    return int(text)


def int_array_of(texts, dtype):
    return np.array([int(t) for t in texts], dtype=dtype)


def bool_bytes(values):
    """A bool array over these bytes, as a view of uint8 memory (numpy keeps them as they are)."""
    return np.array(values, dtype=np.uint8).view(np.bool_)


def bool_bytes_large(n, byte):
    """The same, large enough to be handed off rather than copied."""
    return np.full(n, byte, dtype=np.uint8).view(np.bool_)


def masked():
    return np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])


def masked_scalar():
    return np.ma.masked_array(4.0, mask=True)


def surrogate_text():
    return "a\udc80b"  # os.fsdecode(b"a\x80b") gives this


def text_info(value):
    """What Python received: the code points of a str."""
    return [ord(c) for c in value]


def raise_with(message):
    raise ValueError(message)


def raise_text(kind):
    if kind == "nul":
        raise ValueError("before\x00after")
    if kind == "surrogate":
        raise ValueError("bad \udc80 byte")
    raise ValueError(kind)


def huge_broadcast():
    """A result whose conversion runs out of memory: 2**40 float64 values (8 TiB) behind a
    broadcast view of one, which must be made contiguous to cross."""
    return [1, np.broadcast_to(np.zeros(1), (2**40,))]


class UnreadableSequence:
    """A sequence whose items cannot be read: numpy's conversion of it raises."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        raise RuntimeError("no item")


def unreadable_sequence(data):
    return UnreadableSequence()


def range_result(data):
    return range(3 * 10**7)


def range_result_huge(data):
    return range(10**12)


def hostile_index_result(data):
    """Indices whose __index__ empties the very list numpy is reading."""
    global victim
    victim = [ClearingIndex(0), 1, 2]
    return victim


# ---- chaos (test/hostile/chaos/scenario.cjs) ------------------------------------------


def sleepy(ms, *rest):
    """Sleeps (an abort interrupts it), then gives back what it was given."""
    time.sleep(ms / 1000)
    return [ms, *rest]


def raise_if_odd(n, *rest):
    if n % 2:
        raise RuntimeError(f"odd: {n}")
    return [n, *rest]


def indices_every(data):
    """detect's result for chaos: a few indices, after a short wait."""
    time.sleep(0.0002)
    return np.arange(0, len(data), 7)


# ---- results from a spec (fuzz) -------------------------------------------------------------


def from_json_spec(spec):
    """Builds a result from a JSON spec: {"t": kind, ...}. Kinds: none, bool, int (text), float,
    str, list, tuple, dict, array (dtype, values, shape, order), and hostile subclasses."""
    armed[0] = False
    return _made(_build(json.loads(spec)))


def _build(node):
    t = node["t"]
    if t == "none":
        return None
    if t == "bool":
        return bool(node["v"])
    if t == "int":
        return int(node["v"])
    if t == "float":
        return float(node["v"])
    if t == "str":
        return node["v"]
    if t == "list":
        return [_build(x) for x in node["v"]]
    if t == "tuple":
        return tuple(_build(x) for x in node["v"])
    if t == "dict":
        return {k: _build(x) for k, x in node["v"]}
    if t == "array":
        a = np.array(node["v"], dtype=node["dtype"]).reshape(node["shape"])
        if node.get("fortran"):
            a = np.asfortranarray(a)
        if node.get("swapped"):
            a = a.astype(a.dtype.newbyteorder())
        return a
    if t == "npscalar":
        return np.dtype(node["dtype"]).type(node["v"])
    if t == "hostile":
        return _hostile(node["v"])
    if t == "victim_list":  # a list the hostile items in it empty while it is read
        global victim
        victim = [_build(x) for x in node["v"]]
        return victim
    raise ValueError(t)
