"""The gRPC baseline: a Python server running the very same detection function.

    python python/grpc_server.py [--port 0] [--module outliers] [--function detect]
                                 [--path DIR ...]

Listens on 127.0.0.1 only (a port of 0 picks a free one) and prints `LISTENING <port>` on
stdout once it serves. SIGTERM or SIGINT stops it gracefully. The stubs are generated at
build time (make) into python/generated/.

Errors travel in the status and trailing metadata, so the Node client (RemoteOutliers)
raises the same errors as the in-process Outliers: a Python exception becomes
PythonError(type, message, traceback), a result that is not a valid list of indices becomes
ResultError, with the same rules as the addon (native/numpy_view.cc).
"""

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback
from concurrent import futures

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATED = os.path.join(HERE, "generated")
sys.path.insert(0, GENERATED)
sys.path.insert(0, HERE)

import grpc  # noqa: E402
import numpy as np  # noqa: E402


def generate_stubs():
    """What `make` does at build time; here for a package installed without that step."""
    from grpc_tools import protoc

    os.makedirs(GENERATED, exist_ok=True)
    status = protoc.main(
        [
            "protoc",
            f"-I{HERE}",
            f"--python_out={GENERATED}",
            f"--grpc_python_out={GENERATED}",
            os.path.join(HERE, "detect.proto"),
        ]
    )
    if status != 0:
        raise SystemExit(f"cannot generate the gRPC stubs (protoc exit {status})")


try:
    import detect_pb2  # noqa: E402
    import detect_pb2_grpc  # noqa: E402
except ImportError:
    generate_stubs()
    import detect_pb2  # noqa: E402
    import detect_pb2_grpc  # noqa: E402

# 10M float64 values are 80 MB on the wire; leave room for more.
MAX_MESSAGE = 1 << 30
OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
]


class InvalidResult(Exception):
    pass


def to_indices(result, length):
    """The addon's result rules: a 1-D integer array or sequence, each index in range."""
    if isinstance(result, (list, tuple)) and len(result) > length:
        raise InvalidResult(f"returned {len(result)} indices for {length} input values")
    was_array = isinstance(result, np.ndarray)
    array = np.asarray(result)
    if array.ndim != 1:
        raise InvalidResult(
            "expected a 1-D integer array or sequence of ints, got "
            f"{type(result).__name__} (as an array: {array.ndim}-D)"
        )
    if array.size == 0 and not was_array:
        return array.astype(np.int64)
    if array.dtype == np.bool_:
        raise InvalidResult(
            "got a boolean array; return indices (np.flatnonzero(mask)), not a mask"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise InvalidResult(
            f"expected integer indices, got {type(result).__name__} of dtype {array.dtype}"
        )
    if array.size > length:
        raise InvalidResult(f"returned {array.size} indices for {length} input values")
    indices = array.astype(np.int64, copy=False)
    bad = np.flatnonzero((indices < 0) | (indices >= length))
    if bad.size:
        i = int(bad[0])
        raise InvalidResult(f"index {int(indices[i])} at position {i} is outside [0, {length})")
    return indices


class Servicer(detect_pb2_grpc.OutliersServicer):
    def __init__(self, func):
        self.func = func

    def Detect(self, request, context):
        # np.array over the repeated field is ~3x faster than np.fromiter (NOTES.md item 22).
        values = np.array(request.values, dtype=np.float64)
        values.flags.writeable = False  # as in-process: Python gets read-only input
        try:
            indices = to_indices(self.func(values), len(values))
        except InvalidResult as e:
            context.set_trailing_metadata((("py-outliers-error", "result"),))
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
        except BaseException as e:  # SystemExit too: it must not stop the server
            context.set_trailing_metadata(
                (
                    ("py-outliers-error", "python"),
                    ("py-outliers-type", type(e).__name__),
                    ("py-outliers-traceback-bin", "".join(traceback.format_exception(e)).encode()),
                )
            )
            context.abort(grpc.StatusCode.UNKNOWN, str(e))
        reply = detect_pb2.DetectReply()
        reply.indices.extend(indices.tolist())
        return reply


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--module", default="outliers")
    parser.add_argument("--function", default="detect")
    parser.add_argument("--path", action="append", default=[], help="prepended to sys.path")
    args = parser.parse_args(argv)

    for path in reversed(args.path):
        sys.path.insert(0, os.path.abspath(path))
    func = getattr(importlib.import_module(args.module), args.function)

    # One worker thread: the work is GIL-bound, and the in-process addon also runs one call
    # at a time; more threads would only add contention to the comparison.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), options=OPTIONS)
    detect_pb2_grpc.add_OutliersServicer_to_server(Servicer(func), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    if port == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    server.start()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"LISTENING {port}", flush=True)
    stop.wait()
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
