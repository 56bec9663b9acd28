"""Functions that fail the way worker processes fail (test/pool/): crashes, exits, leaks."""

import ctypes
import os
import signal
import sys
import time

_leak = []
_kept = []


def pid():
    return os.getpid()


def segfault():
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def abort():
    sys.stderr.write("about to abort\n")
    sys.stderr.flush()
    os.abort()


def exit3():
    os._exit(3)


def kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def spin(seconds):
    """Python bytecode for `seconds`: an abort interrupts it (CallAborted)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def leak(mb):
    """Keeps `mb` MiB more (touched, so resident); returns the pid."""
    block = bytearray(mb * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    _leak.append(block)
    return os.getpid()


def keep(a):
    """Keeps the argument's view past the call."""
    _kept.append(a)
    return len(_kept) - 1


def kept_first(i):
    return float(_kept[i][0])


def describe(a):
    """What an array argument is in this worker: numpy or memoryview, its format and shape."""
    if isinstance(a, memoryview):
        return {
            "kind": "memoryview",
            "format": a.format,
            "shape": list(a.shape),
            "readonly": a.readonly,
            "sum": float(sum(a.cast("B").cast(a.format))),
        }
    return {
        "kind": type(a).__name__,
        "dtype": str(a.dtype),
        "shape": list(a.shape),
        "readonly": not a.flags.writeable,
        "sum": float(a.sum()),
    }


def version():
    return "{}.{}".format(*sys.version_info[:2])


def double_memoryview(a):
    """Without numpy: a result memoryview of doubles."""
    import array

    return memoryview(array.array("d", [2 * x for x in a.cast("B").cast("d")]))
