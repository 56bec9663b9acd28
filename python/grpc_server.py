"""Serves a detection function over gRPC, to RemoteOutliers (the scale-out path).

    python python/grpc_server.py [--host 127.0.0.1] [--port 0] [--workers 1] [--threads 2]
                                 [--module outliers] [--function detect] [--path DIR ...]
                                 [--tls-cert FILE --tls-key FILE]

Listens on --host (loopback by default; 0.0.0.0 or :: for every interface) and prints
`LISTENING <port>` on stdout once it serves (a port of 0 picks a free one). SIGTERM or SIGINT
stops it gracefully: new calls are refused, calls in flight finish (up to 5 s).
The stubs are generated at build time (make) into python/generated/.

--workers N runs N server processes on one port (SO_REUSEPORT, as grpcio's multiprocessing
example does), each its own interpreter, so that N calls run on N cores even when the function
holds the GIL. The kernel gives each new connection to one of them: a client needs several
connections to reach them all (RemoteOutliers opens 4 by default). If a worker dies, the others
are stopped and the server exits 1, for its supervisor (systemd, Kubernetes) to restart.

Services: py_outliers.Outliers (DetectRaw: raw float64 bytes in, streamed in pieces, and int32
bytes out, what RemoteOutliers calls; Detect: `repeated double`, the benchmark's baseline) and
the standard grpc.health.v1.Health (Check; SERVING once the function is imported).

Errors travel in the status and trailing metadata, so the Node client (RemoteOutliers)
raises the same errors as the in-process Outliers: a Python exception becomes
PythonError(type, message, traceback), a result that is not a valid list of indices becomes
ResultError, with the same rules as the addon (native/values/index_result.cc).
"""

import argparse
import importlib
import os
import signal
import socket
import subprocess
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
from py_outliers_worker import Invalid, detect_result  # noqa: E402


def generate_stubs():
    """What `make` does at build time; here for a package installed without that step."""
    from grpc_tools import protoc

    os.makedirs(GENERATED, exist_ok=True)
    for proto in ("detect.proto", "health.proto"):
        status = protoc.main(
            [
                "protoc",
                f"-I{HERE}",
                f"--python_out={GENERATED}",
                f"--grpc_python_out={GENERATED}",
                os.path.join(HERE, proto),
            ]
        )
        if status != 0:
            raise SystemExit(f"cannot generate the gRPC stubs for {proto} (protoc exit {status})")


try:
    import detect_pb2  # noqa: E402
    import detect_pb2_grpc  # noqa: E402
    import health_pb2  # noqa: E402
    import health_pb2_grpc  # noqa: E402
except ImportError:
    generate_stubs()
    import detect_pb2  # noqa: E402
    import detect_pb2_grpc  # noqa: E402
    import health_pb2  # noqa: E402
    import health_pb2_grpc  # noqa: E402

# 10M float64 values are 80 MB on the wire; leave room for more.
MAX_MESSAGE = 1 << 30
OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
]
SERVICE_NAME = "py_outliers.Outliers"
# How long calls in flight may run on after SIGTERM.
GRACE_SECONDS = 5


class Servicer(detect_pb2_grpc.OutliersServicer):
    def __init__(self, func):
        self.func = func

    def _run(self, values, context):
        """The function's indices (int64), or the call aborted with the error's metadata."""
        try:
            # Detect's result rules, shared with the worker processes (the addon's, in Python).
            return detect_result(self.func(values), len(values))
        except Invalid as e:
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

    def DetectRaw(self, request_iterator, context):
        pieces = [np.frombuffer(piece.values, dtype=np.uint8) for piece in request_iterator]
        # One piece is read in place. Several are copied into one new array: numpy asks the
        # kernel for huge pages for large arrays, so 80 MB are put together in ~11 ms, where
        # b"".join takes ~40 ms (a fresh mapping, faulted in 4 KiB page by page).
        if len(pieces) == 1:
            data = pieces[0]
        else:
            data = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint8)
        if data.size % 8:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"values must be whole little-endian float64 values: {data.size} bytes is not "
                "a multiple of 8",
            )
        # No per-value conversion, and read-only as in-process. numpy copes with any alignment.
        values = data.view("<f8")
        values.flags.writeable = False
        indices = self._run(values, context)
        # Indices are below the value count, which the message limit keeps far below 2**31.
        return detect_pb2.RawDetectReply(indices=indices.astype("<i4").tobytes())

    def Detect(self, request, context):
        # np.array over the repeated field is ~3x faster than np.fromiter
        # (docs/architecture.md, "The gRPC wire").
        values = np.array(request.values, dtype=np.float64)
        values.flags.writeable = False  # as in-process: Python gets read-only input
        reply = detect_pb2.DetectReply()
        reply.indices.extend(self._run(values, context).tolist())
        return reply


class Health(health_pb2_grpc.HealthServicer):
    """grpc.health.v1 Check, for the server ("") and its one service. Watch is left
    UNIMPLEMENTED (the spec allows it): it would hold a worker thread per watcher."""

    KNOWN = ("", SERVICE_NAME)

    def Check(self, request, context):
        # Serving from the start: the server starts only once the function is imported.
        if request.service not in self.KNOWN:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        response = health_pb2.HealthCheckResponse
        return response(status=response.SERVING)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="server processes on the port")
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="calls run at once in each process (numpy releases the GIL in its loops)",
    )
    parser.add_argument("--module", default="outliers")
    parser.add_argument("--function", default="detect")
    parser.add_argument("--path", action="append", default=[], help="prepended to sys.path")
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve TLS instead of plain TCP")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    return args


def host_port(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def wait_for_stop_signal():
    """An event set by SIGTERM or SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def tune_malloc():
    """The allocator thresholds the in-process addon sets (native/runtime/python_runtime.cc): with
    glibc's defaults numpy's temporaries (800 KB at 100k values) are mapped and unmapped on
    every call, 4-5x slower at 100k. PY_OUTLIERS_MALLOC_TUNING=0 leaves glibc's defaults."""
    if not sys.platform.startswith("linux") or os.environ.get("PY_OUTLIERS_MALLOC_TUNING") == "0":
        return
    import ctypes

    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc = ctypes.CDLL(None)
    libc.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
    libc.mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024)


def serve(args, reuse_port):
    """One server process: serves until SIGTERM/SIGINT."""
    tune_malloc()
    for path in reversed(args.path):
        sys.path.insert(0, os.path.abspath(path))
    func = getattr(importlib.import_module(args.module), args.function)

    # grpcio sets SO_REUSEPORT by default on Linux, which would let a second server start on a
    # port already in use and silently share it: only the workers of one server may.
    options = [*OPTIONS, ("grpc.so_reuseport", 1 if reuse_port else 0)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.threads), options=options)
    detect_pb2_grpc.add_OutliersServicer_to_server(Servicer(func), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    address = host_port(args.host, args.port)
    try:
        if args.tls_cert:
            with open(args.tls_key, "rb") as key, open(args.tls_cert, "rb") as cert:
                credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:  # grpcio's bind failure; the cause is in its log line above
        port = 0
    if port == 0:
        reason = "in use, or not an address of this machine"
        print(f"cannot listen on {address} ({reason})", file=sys.stderr)
        return 1
    server.start()
    stop = wait_for_stop_signal()
    print(f"LISTENING {port}", flush=True)
    stop.wait()
    server.stop(grace=GRACE_SECONDS).wait()
    return 0


def reserve_port(host, port):
    """Binds (without listening) a SO_REUSEPORT socket: it holds the port, chosen by the
    kernel if 0, for the workers to share, and never receives a connection itself."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def supervise(args, argv):
    """--workers N: N copies of this script on one port (fresh interpreters, so no gRPC state
    crosses a fork). Prints LISTENING once all of them listen."""
    with reserve_port(args.host, args.port) as reserved:
        port = reserved.getsockname()[1]
        worker_argv = [sys.executable, os.path.abspath(__file__), *argv, "--worker"]
        worker_argv += ["--port", str(port)]  # the last --port wins
        workers = [
            subprocess.Popen(worker_argv, stdout=subprocess.PIPE, text=True)
            for _ in range(args.workers)
        ]

        def stop_workers():
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()

        stop = wait_for_stop_signal()
        try:
            for worker in workers:
                line = worker.stdout.readline()
                if line.strip() != f"LISTENING {port}":
                    print(f"worker {worker.pid} did not start", file=sys.stderr)
                    return 1
            print(f"LISTENING {port}", flush=True)
            while not stop.wait(0.2):
                dead = [w for w in workers if w.poll() is not None]
                if dead:
                    print(
                        f"worker {dead[0].pid} exited ({dead[0].returncode}); stopping",
                        file=sys.stderr,
                    )
                    return 1
            return 0
        finally:
            stop_workers()
            for worker in workers:
                try:
                    worker.wait(GRACE_SECONDS + 5)
                except subprocess.TimeoutExpired:
                    worker.kill()


def die_with_parent():
    """A worker gets SIGTERM when its supervisor dies, even by SIGKILL: no orphan keeps the
    port (Linux prctl PR_SET_PDEATHSIG; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the supervisor died before prctl
            sys.exit(1)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    worker = "--worker" in argv
    args = parse_args([a for a in argv if a != "--worker"])
    if worker:
        die_with_parent()
        return serve(args, reuse_port=True)
    if args.workers > 1:
        return supervise(args, argv)
    return serve(args, reuse_port=False)


if __name__ == "__main__":
    sys.exit(main())
