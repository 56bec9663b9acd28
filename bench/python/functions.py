"""PythonFunction's benchmark functions (bench/suites/functions.mjs), and the same for
node-calls-python, which hands typed arrays to Python as `bytes` (a copy) and takes `bytes`
back as an ArrayBuffer (another)."""

import numpy as np


def noop(a, scale=1.0, offset=0.0):
    """Ignores its arguments: timing it is the call's own cost."""
    return None


def empty(n):
    """A fresh float64 result of n values, as cheap to make as numpy can: what the timing adds
    over noop is the crossing of the result to JS."""
    return np.empty(n)


def ncp_noop(b, scale=1.0, offset=0.0):
    np.frombuffer(b, dtype=np.float64)
    return None


def ncp_matrix(b, rows, cols):
    np.frombuffer(b, dtype=np.float64).reshape(rows, cols)
    return None


def ncp_empty(n):
    return np.empty(n).tobytes()
