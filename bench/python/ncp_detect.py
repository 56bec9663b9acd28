"""outliers.detect as node-calls-python users call it.

node-calls-python hands a Float64Array to Python as `bytes` (a copy of its memory); this
wrapper turns that into an array without a second copy and returns a list, which it converts
back to a JS array.
"""

import numpy as np
from outliers import detect as _detect


def detect(values):
    return _detect(np.frombuffer(values, dtype=np.float64)).tolist()


def noop(values):
    return []
