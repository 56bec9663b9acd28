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


def record(path, token):
    """Appends `token` to the file at `path`: a side effect that outlives the worker."""
    with open(path, "a") as f:
        f.write(f"{token}\n")
    return token


def crash_keeping_channel(seconds):
    """SIGSEGV, leaving a child that holds the worker's channel (fd 3) open for `seconds`."""
    import subprocess

    subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"], pass_fds=(3,))
    ctypes.string_at(0)


def result_files():
    """How many result memfds this worker holds open."""
    fds = os.listdir("/proc/self/fd")
    return sum(
        1
        for fd in fds
        if os.path.exists(f"/proc/self/fd/{fd}")
        and "py-outliers-result" in os.readlink(f"/proc/self/fd/{fd}")
    )


def big(n, k):
    """A float64 result of n values (past the 64 KiB inline limit from 8192 on), all k."""
    import numpy as np

    return np.full(n, float(k))
