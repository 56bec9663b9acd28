"""The trivial function of the benchmark: it ignores its input, so timing it is pure call
overhead. It returns a prepared empty index array so the result check is as cheap as can be."""

import numpy as np

_EMPTY = np.empty(0, dtype=np.int64)


def noop(data):
    return _EMPTY
