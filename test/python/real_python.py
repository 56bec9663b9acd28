"""What real Python code does inside py-outliers: prints, atexit, child processes, pools.

Used by test/as-python/real-python.test.ts in child Node processes. Each function takes the
input view and returns no indices; what it did is seen in the process's output, exit and files.
"""

import atexit
import multiprocessing
import os
import subprocess
import sys
import time


def prints(data):
    print("print from python")
    print("print without newline", end="")
    return []


def prints_to_stderr(data):
    print("stderr from python", file=sys.stderr)
    return []


def prints_then_sleeps(data):
    print(f"async print {int(data[0])}")
    time.sleep(float(data[1]))
    return []


def spins(data):
    time.sleep(3600)
    return []


def atexit_writes_file(data):
    path = os.environ["ATEXIT_FILE"]
    atexit.register(lambda: open(path, "a").write("ran\n"))
    return []


def atexit_hangs(data):
    atexit.register(time.sleep, 3600)
    print("registered a hanging handler")
    return []


def subprocess_inherits_stdio(data):
    subprocess.run(["sh", "-c", "echo hi from subprocess.run; echo err from subprocess.run >&2"])
    return []


def os_system(data):
    os.system("echo hi from os.system")
    return []


def multiprocessing_pools(data):
    for method in ("spawn", "forkserver", "fork"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            print(method, pool.map(abs, [-1, -2, -3]))
    return []


def joblib_loky(data):
    import numpy as np
    from joblib import Parallel, delayed

    # Over joblib's max_nbytes (1 MB): passed to the workers as a memory map in /dev/shm.
    big = np.arange(300_000, dtype=np.float64)
    sums = Parallel(n_jobs=2, backend="loky")(delayed(np.sum)(big + k) for k in range(4))
    print("loky", [float(s) for s in sums] == [float(np.sum(big + k)) for k in range(4)])
    return []
