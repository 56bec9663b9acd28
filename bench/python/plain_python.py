"""The floor: outliers.detect and the trivial function timed in plain Python, the same way
bench/protocol/measure.mjs times the Node side (warm-up, ~1 ms batches, a time budget, per-call µs).

    python bench/python/plain_python.py <tag>

Serves run.mjs: one JSON request per stdin line ({"op": "measure", "mode", "size",
"budgetMs", "minSamples"}), one JSON answer per stdout line. Modes: python<tag>,
python_trivial<tag>.
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import numpy as np  # noqa: E402
from outliers import detect  # noqa: E402
from trivial import noop  # noqa: E402


def make_input(size):
    """The same shape of data as measure.mjs's makeInput (the values themselves do not matter)."""
    values = np.random.default_rng(1).random(max(size, 1))
    values[7::1000] += 97
    return values


def measure(fn, arg, budget_ms, min_samples):
    warm_until = time.perf_counter() + min(0.03, budget_ms / 4000)
    warm = 0
    while warm < 2 or time.perf_counter() < warm_until:
        fn(arg)
        warm += 1
    t0 = time.perf_counter()
    fn(arg)
    once = max(time.perf_counter() - t0, 1e-7)
    batch = max(1, min(100_000, int(0.001 / once)))
    samples = []
    end = time.perf_counter() + budget_ms / 1000
    while len(samples) < min_samples or (time.perf_counter() < end and len(samples) < 2000):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn(arg)
        samples.append((time.perf_counter() - t0) * 1e6 / batch)
    return samples


def main():
    tag = sys.argv[1] if len(sys.argv) > 1 else ""
    functions = {f"python{tag}": detect, f"python_trivial{tag}": noop}
    inputs = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            if request["op"] == "available":
                answer = {"python": sys.version.split()[0], "numpy": np.__version__}
            elif request["op"] == "measure":
                size = request["size"]
                if size not in inputs:
                    inputs[size] = make_input(size)
                answer = {
                    "samples": measure(
                        functions[request["mode"]],
                        inputs[size],
                        request["budgetMs"],
                        request["minSamples"],
                    )
                }
            else:
                raise ValueError(f"unknown op {request['op']}")
            print(json.dumps({"ok": True, **answer}), flush=True)
        except Exception as e:  # answer, so the orchestrator can report it
            print(json.dumps({"ok": False, "error": repr(e)}), flush=True)


if __name__ == "__main__":
    main()
