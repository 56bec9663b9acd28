"""Functions for test/api/function.test.ts: what PythonFunction passes in, and results of
every kind."""

import tracemalloc

import numpy as np

_kept = []
_fresh_sizes = set()
_shared = np.arange(100_000, dtype=np.float64)


def describe(*args, **kwargs):
    """What Python received: each value's type, and for arrays dtype, shape and flags."""

    def one(v):
        if isinstance(v, np.ndarray):
            return {
                "type": "ndarray",
                "dtype": str(v.dtype),
                "shape": list(v.shape),
                "writeable": bool(v.flags.writeable),
                "c_contiguous": bool(v.flags.c_contiguous),
                "owndata": bool(v.flags.owndata),
                "base": type(v.base).__name__,
                "values": v.ravel().tolist() if v.size <= 64 else None,
            }
        if isinstance(v, (list, tuple)):
            return {"type": type(v).__name__, "items": [one(x) for x in v]}
        if isinstance(v, dict):
            return {"type": "dict", "items": {k: one(x) for k, x in v.items()}}
        if isinstance(v, float) and v != v:
            return {"type": "float", "value": "nan"}
        if isinstance(v, float) and v in (float("inf"), float("-inf")):
            return {"type": "float", "value": str(v)}
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
            return {"type": "int", "value": str(v)}
        return {"type": type(v).__name__, "value": v}

    return {"args": [one(a) for a in args], "kwargs": {k: one(v) for k, v in kwargs.items()}}


def echo(value):
    return value


def total(a):
    return float(np.sum(a))


def keep(a):
    """Keeps the view after the call returns: its JS memory must stay alive and current."""
    _kept.append(a)
    return len(_kept) - 1


def kept_sum(i):
    return float(np.sum(_kept[i]))


def drop_kept():
    _kept.clear()


def write(a):
    a[0] = 1  # a read-only view: raises ValueError


def trivial(a, scale=1.0, offset=0.0):
    return 0.0


def noop(*args, **kwargs):
    return None


# ---- results ------------------------------------------------------------------------------


def of_dtype(dtype, n=4):
    """np.arange(n) as `dtype` (bool: alternating)."""
    if dtype == "bool":
        return np.arange(n) % 2 == 1
    return np.arange(n).astype(dtype)


def shaped(rows, cols):
    return np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)


def layouts():
    """Arrays whose memory is not a plain C-contiguous native-endian block."""
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    raw = np.zeros(8 * 4 + 1, dtype=np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=np.float64, count=4, offset=1)
    assert not misaligned.flags.aligned
    return {
        "strided": a[:, ::2],
        "transposed": a.T,
        "big_endian": np.arange(4, dtype=">f8"),
        "misaligned": misaligned,
        "reversed": np.arange(5, dtype=np.int32)[::-1],
    }


def scalars():
    return [
        np.float32(1.5),
        np.float64(2.5),
        np.int8(-3),
        np.uint64(2**63),
        np.int64(2**60),
        np.int64(7),
        np.bool_(True),
        np.array(4.25),
        np.array(9, dtype=np.int64),
        2**53 + 1,
        -(2**70),
        2**100,
        float("nan"),
        float("inf"),
    ]


def python_values():
    return {
        "none": None,
        "bool": False,
        "int": 42,
        "float": 0.1,
        "str": "h\u00e9llo \U0001f600",
        "tuple": (1, "two", [3.0]),
        "nested": {"a": {"b": [None, {"c": True}]}},
        "__proto__": "an own key",
        "empty_list": [],
        "empty_dict": {},
    }


def bad(kind):
    """A result with something JS cannot hold, somewhere inside."""

    class Custom:
        pass

    if kind == "set":
        return {1, 2}
    if kind == "generator":
        return [1, {"x": (i for i in range(3))}]
    if kind == "object_array":
        return [np.array([1, "a"], dtype=object)]
    if kind == "complex":
        return {"z": np.zeros(3, dtype=np.complex128)}
    if kind == "custom":
        return (1, 2, Custom())
    if kind == "int_key":
        return {"ok": {1: "one"}}
    if kind == "self":
        loop = []
        loop.append(loop)
        return loop
    if kind == "datetime":
        return np.array(["2026-12-03"], dtype="datetime64[D]")
    raise ValueError(kind)


def deep(levels):
    value = 1
    for _ in range(levels):
        value = [value]
    return value


def big_list(n):
    return [float(i) for i in range(n)]


def int64_values(values):
    return np.array(values, dtype=np.int64)


def uint64_values(values):
    return np.array(values, dtype=np.uint64)


# ---- zero copy out ------------------------------------------------------------------------


def fresh(n):
    """A new float64 array nothing else references. It is watched through tracemalloc, which
    sees numpy's data allocations: a weak reference would let Python reach it, and so keep it
    from being handed off."""
    if not tracemalloc.is_tracing():
        tracemalloc.start()
    _fresh_sizes.add(n * 8)
    return np.arange(n, dtype=np.float64)


def fresh_alive():
    """How many arrays fresh() made are still alive."""
    if not tracemalloc.is_tracing():
        return 0
    numpy_data = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
    traces = tracemalloc.take_snapshot().filter_traces([numpy_data]).traces
    return sum(1 for trace in traces if trace.size in _fresh_sizes)


def forget_fresh():
    tracemalloc.stop()
    _fresh_sizes.clear()


def shared():
    """A module global: Python can write it later, so JS must get a copy."""
    return _shared


def shared_view():
    """A view of a module global (it does not own its memory)."""
    return _shared[10:]


def shared_first():
    return float(_shared[0])


def fresh_in_list(n):
    return [np.ones(n), {"a": np.ones(n)}]
