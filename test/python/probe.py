"""Detection functions for the tests: well-behaved, hostile, and introspective ones.

Functions named report_* answer a question about what Python received by raising Report with
a JSON payload; the test reads it from PythonError.message.
"""

import json
import sys

import numpy as np

kept = []


class Report(Exception):
    pass


def report(**facts):
    raise Report(json.dumps(facts))


# ---- well-behaved -----------------------------------------------------------------------


def noop(data):
    return []


def all_indices(data):
    return np.arange(len(data))


def argmax(data):
    return [int(np.argmax(data))]


def as_list(data):
    return [0, len(data) - 1]


def as_tuple(data):
    return (len(data) - 1, 0)


def as_int32(data):
    return np.array([1, 0], dtype=np.int32)


def as_uint8(data):
    return np.array([2, 1], dtype=np.uint8)


def as_uint64(data):
    return np.array([3], dtype=np.uint64)


def non_contiguous(data):
    return np.arange(len(data))[::2]


def empty_tuple(data):
    return ()


def empty_int_array(data):
    return np.array([], dtype=np.int64)


# ---- introspection ----------------------------------------------------------------------


def report_view(data):
    report(
        dtype=str(data.dtype),
        ndim=data.ndim,
        shape=list(data.shape),
        writeable=bool(data.flags.writeable),
        owndata=bool(data.flags.owndata),
        c_contiguous=bool(data.flags.c_contiguous),
        base=type(data.base).__name__,
        values=data.tolist() if len(data) <= 16 else None,
    )


def write_input(data):
    data[0] = 12345.0
    return []


def force_writeable(data):
    data.setflags(write=True)
    data[0] = 12345.0
    return []


def keep(data):
    kept.append(data)
    return []


def keep_slice(data):
    kept.append(data[1:])
    return []


def report_kept(data):
    report(sums=[float(a.sum()) for a in kept], lengths=[len(a) for a in kept])


def clear_kept(data):
    kept.clear()
    return []


def report_refcounts(data):
    # Every object the addon handed over must be freed: a growing count is a leak.
    report(refcount=sys.getrefcount(data))


# ---- exceptions -------------------------------------------------------------------------


def raise_value_error(data):
    raise ValueError(f"bad data of length {len(data)}")


def raise_system_exit(data):
    sys.exit(3)


def raise_keyboard_interrupt(data):
    raise KeyboardInterrupt()


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no str for you")


def raise_unprintable(data):
    raise UnprintableError()


def nested_failure(data):
    def inner():
        raise KeyError("missing")

    try:
        inner()
    except KeyError as e:
        raise RuntimeError("outer") from e


# ---- bad return values ------------------------------------------------------------------


def returns_none(data):
    return None


def returns_float_array(data):
    return np.array([1.0, 2.0])


def returns_float_list(data):
    return [0.5]


def returns_2d(data):
    return np.array([[0, 1], [1, 0]])


def returns_mask(data):
    return np.abs(data) > 0


def returns_scalar(data):
    return np.int64(0)


def returns_input(data):
    return data


def returns_generator(data):
    return (i for i in range(2))


def returns_out_of_range(data):
    return [0, len(data)]


def returns_negative(data):
    return [-1]


def returns_huge_uint64(data):
    return np.array([2**63 + 5], dtype=np.uint64)


def returns_too_many(data):
    return list(range(len(data))) * 2


def returns_huge_list(data):
    return [0] * 10_000_000


def returns_strings(data):
    return ["a", "b"]


class BadArray:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("__array__ refused")


def returns_bad_array(data):
    return BadArray()


class RaisesInDel:
    def __del__(self):
        raise RuntimeError("raised in __del__")


def raises_in_del(data):
    RaisesInDel()
    return [0]


not_callable = 42


# ---- environment and timing -------------------------------------------------------------


def report_noop_refcount(data):
    report(refcount=sys.getrefcount(noop))


def uses_grpc(data):
    import grpc  # installed in the project's venv only, not in the base python3

    return [0] if grpc.__version__ else []


def sleep_long(data):
    import time

    time.sleep(float(data[0]))
    return []


def report_sys(data):
    report(executable=sys.executable, path=sys.path, argv=sys.argv)


def _malloc_in_use():
    """Bytes the C allocator has handed out and not had back: glibc's mallinfo2(), every arena
    (uordblks, plus hblkhd for mmap'd chunks). Under PYTHONMALLOC=malloc it covers Python's
    objects as well as the addon's C++ allocations, and never V8's heap (V8 maps its own pages).
    """
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def report_live_objects(data):
    # Instances of a heap type each hold a reference to it, so the pin type's count tells how
    # many input views (pins) are alive; the function's count tells whether calls leak it.
    from outliers import detect as packaged_detect

    report(
        pins=sys.getrefcount(type(data.base)),
        detect=sys.getrefcount(packaged_detect),
        heap=_malloc_in_use(),
    )


_leaked = []


def leak_8_bytes(data):
    """The packaged detect, leaking one pointer (8 bytes) per call: what the leak test must
    catch."""
    from outliers import detect as packaged_detect

    _leaked.append(None)
    return packaged_detect(data)


# ---- fuzzing the result rules -----------------------------------------------------------

SPEC_DTYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float64",
    "bool",
]


def from_spec(data):
    """Builds a return value from a spec encoded in the input (test/hostile/fuzz.test.ts writes it):
    [container, dtype, ndim, strided, count, v0, v1, ...], the rest padding.
    container: 0 list, 1 tuple, 2 ndarray; ndim 0..2; strided: take every other element of a
    twice-as-long array (a non-contiguous view)."""
    container, dtype, ndim, strided, count = (int(x) for x in data[:5])
    values = [int(x) for x in data[5 : 5 + count]]
    if container < 2:
        return values if container == 0 else tuple(values)
    kind = SPEC_DTYPES[dtype]
    if strided:
        doubled = np.zeros(2 * len(values), dtype=kind)
        doubled[::2] = values
        array = doubled[::2]
    else:
        array = np.array(values, dtype=kind)
    if ndim == 0:
        return array[0] if len(array) else np.array(0, dtype=kind)[()]
    if ndim == 2:
        return array.reshape(1, -1)
    return array


# ---- threads and cancellation (test/as-python/threads.test.ts, test/api/abort.test.ts) ----

_calls = {}
_ran_on = set()
_aborted = []


def _count(name):
    _calls[name] = _calls.get(name, 0) + 1


def report_calls(data):
    report(calls=_calls, aborted=_aborted, threads=len(_ran_on))


def counted(data):
    """Well-behaved, and counts its calls: a call that never ran is not counted."""
    _count("counted")
    return [int(np.argmax(data))]


def sleep_then_argmax(data):
    """Sleeps without the GIL for data[0] seconds, notes its thread, returns [argmax]."""
    import threading
    import time

    _count("sleep_then_argmax")
    _ran_on.add(threading.get_ident())
    time.sleep(float(data[0]))
    return [int(np.argmax(data))]


def spin_forever(data):
    """Runs Python bytecode forever: only an interruption ends it."""
    try:
        _count("spin_forever")  # inside: counted means an interruption is recorded
        while True:
            pass
    except BaseException as error:
        _aborted.append(type(error).__name__)
        raise


def report_priorities(data):
    """The nice value seen by this call's own thread, by a subprocess and by a threading.Thread
    it starts: under `python` all three are the process's."""
    import os
    import subprocess
    import sys
    import threading

    def nice():
        return os.getpriority(os.PRIO_PROCESS, 0)  # on Linux: the calling thread's

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = []
    thread = threading.Thread(target=lambda: seen.append(nice()))
    thread.start()
    thread.join()
    report(call=nice(), subprocess=int(child.stdout), thread=seen[0])


_kept_views = []


def keep_then_sleep(data):
    """Keeps its input (a view of the caller's memory), then sleeps (and is aborted)."""
    import time

    _kept_views.append(data)
    time.sleep(0.3)
    return []


def report_kept_sums(data):
    report(sums=[float(view.sum()) for view in _kept_views])


# ---- for servers ------------------------------------------------------------------------


def pid_digits(data):
    """The serving process's pid as decimal digits, each an index (needs 10 values): tells
    backends apart."""
    import os

    return [int(digit) for digit in str(os.getpid())]


def pid_digits_slowly(data):
    """pid_digits after 20 ms: keeps calls in flight long enough to kill a backend under them."""
    import time

    time.sleep(0.02)
    return pid_digits(data)


def service_probe(data):
    """For the HTTP service's tests: the first value chooses what happens. -1 raises
    ValueError, -2 sleeps data[1] seconds (in C: cannot be interrupted), -3 returns a bad
    result, -4 spins in bytecode for data[1] seconds (can be interrupted); else outliers.detect."""
    import time

    import outliers

    first = data[0] if len(data) else 0.0
    if first == -1:
        raise ValueError("the first value is -1")
    if first == -2:
        time.sleep(float(data[1]))
        return []
    if first == -3:
        return "not indices"
    if first == -4:
        end = time.monotonic() + float(data[1])
        while time.monotonic() < end:
            pass
        return []
    return outliers.detect(data)
