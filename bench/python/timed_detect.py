"""outliers.detect, timing itself: how long each call spent inside the Python function.

The benchmark subtracts this from each call's time, sync and async alike, to measure what the
hop itself costs. At 1M values two calls' own times differ by up to ~20% depending on which
vCPU runs them (this VM's two vCPUs run at different speeds from moment to moment), which is
±0.3-0.9 ms per round: far more than the hop's tens of microseconds."""

import json
import os
import tempfile
import time

import numpy as np
import outliers

_own_ns = []
_EMPTY = np.empty(0, dtype=np.int64)


def detect(data):
    start = time.perf_counter_ns()
    result = outliers.detect(data)
    _own_ns.append(time.perf_counter_ns() - start)
    return result


def dump(data):
    """Writes the durations recorded since the last dump (ns, in call order) as JSON to
    py-outliers-bench-<pid>.json in the temporary directory (bench/suites/child.mjs reads and
    removes it: this process's), and forgets them."""
    path = os.path.join(tempfile.gettempdir(), f"py-outliers-bench-{os.getpid()}.json")
    with open(path, "w") as out:
        json.dump(_own_ns, out)
    _own_ns.clear()
    return _EMPTY
