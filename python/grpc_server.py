"""Serves Python functions over gRPC: PythonFunction and Outliers with { remote }, and
RemoteOutliers (the scale-out path; docs/scaling-out.md).

    python python/grpc_server.py [--host 127.0.0.1] [--port 0] [--workers 1] [--threads 2]
                                 [--export MODULE:FUNCTION ...] [--path DIR ...]
                                 [--module outliers] [--function detect]
                                 [--tls-cert FILE --tls-key FILE] [--insecure]
                                 [--token-file FILE]

Listens on --host (loopback by default; 0.0.0.0 or :: for every interface, which needs TLS or
--insecure) and prints `LISTENING <port>` on stdout once it serves (a port of 0 picks a free
one). SIGTERM or SIGINT stops it gracefully: new calls are refused, calls in flight finish (up
to 5 s). The stubs are generated at build time (make) into python/generated/.

--export names each function clients may call (default: --module:--function); they are imported
at start, and a call of anything else is NOT_FOUND. With --token-file (or
PY_OUTLIERS_SERVER_TOKEN) every call but the health check must carry the token.

--workers N runs N server processes on one port (SO_REUSEPORT, as grpcio's multiprocessing
example does), each its own interpreter, so that N calls run on N cores even when the function
holds the GIL. The kernel gives each new connection to one of them: a client needs several
connections to reach them all (the Node client opens 4 by default). If a worker dies, the others
are stopped and the server exits 1, for its supervisor (systemd, Kubernetes) to restart.

Services: py_outliers.Functions (Call: any exported function, by the worker processes' value
rules, py_outliers_worker.py), py_outliers.Outliers (DetectRaw: raw float64 bytes in, streamed
in pieces, and int32 bytes out, what RemoteOutliers calls; Detect: `repeated double`, the
benchmark's baseline) and the standard grpc.health.v1.Health (Check; SERVING once the functions
are imported).

Errors: a Functions call's Python exception or bad result is in its reply, as a worker's is;
for the Outliers service they travel in the status and trailing metadata, so RemoteOutliers
raises the same errors as the in-process Outliers: a Python exception becomes
PythonError(type, message, traceback), a result that is not a valid list of indices becomes
ResultError, with the same rules as the addon (native/values/index_result.cc).
"""

import argparse
import hmac
import importlib
import ipaddress
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
import py_outliers_wire as wire  # noqa: E402
from py_outliers_runtime import CallAborted  # noqa: E402
from py_outliers_worker import (  # noqa: E402
    EXT_ARRAY,
    INLINE_BYTES,
    OK,
    PYTHON_ERROR,
    Arguments,
    Invalid,
    Result,
    _exception,
    _set_async_exc,
    detect_result,
    reply_of,
)


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
FUNCTIONS_SERVICE = "py_outliers.Functions"
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


PIECE_BYTES = 1 << 20  # detect.proto: the pieces of a call's arrays


# A client that sends this metadata key (value "1") takes a small reply with no array data in
# the trailing metadata key REPLY_IN_TRAILER + "-bin" instead of a message (docs/scaling-out.md,
# "The wire"); older clients, which do not send it, get the message.
REPLY_IN_TRAILER = "py-outliers-reply-in-trailer"
TRAILER_REPLY_BYTES = 2048  # far below gRPC's 8 KiB default limit on metadata
# Sent (value "1") with a call of an idempotent function: its client tries it again whether it
# started or not, so the server sends no py-outliers-started header (docs/scaling-out.md).
IDEMPOTENT = "py-outliers-idempotent"


class PieceView:
    """A received Piece whose fields are read-only views of the message's bytes, not copies.

    protobuf's own parser copies the message into its arena and `piece.data` copies the field
    again: two extra copies of every array byte a client sends (8.8 ms per 80 MiB, against
    0.12 ms here, measured). A Piece is two length-delimited fields, so it is read here in
    place; test/remote/piece-view.test.ts checks it against protobuf's parser on random pieces,
    unknown fields and truncations."""

    __slots__ = ("header", "data")

    EMPTY = memoryview(b"")

    def __init__(self, message):
        view = memoryview(message)
        self.header = self.data = self.EMPTY
        at, end = 0, len(view)
        while at < end:
            key, at = _varint(view, at)
            field, kind = key >> 3, key & 7
            if kind == 2:  # length-delimited: header (1), data (2), or an unknown field
                size, at = _varint(view, at)
                if at + size > end:
                    raise ValueError("a Piece field runs past the message")
                if field == 1:
                    self.header = view[at : at + size]
                elif field == 2:
                    self.data = view[at : at + size]
                at += size
            elif kind == 0:  # an unknown varint field
                _, at = _varint(view, at)
            elif kind == 1 or kind == 5:  # an unknown fixed64 / fixed32 field
                at += 8 if kind == 1 else 4
                if at > end:
                    raise ValueError("a Piece field runs past the message")
            else:
                raise ValueError(f"a Piece has a field of wire type {kind}")
            if field == 0:
                raise ValueError("a Piece has a field numbered 0")


def _varint(view, at):
    """A protobuf base-128 varint at `at`: (value, the offset after it)."""
    value = shift = 0
    while True:
        if at >= len(view) or shift > 63:
            raise ValueError("a Piece has a truncated varint")
        byte = view[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def add_functions_service(servicer, server):
    """detect_pb2_grpc's add_FunctionsServicer_to_server, with requests read by PieceView."""
    handlers = {
        "Call": grpc.stream_stream_rpc_method_handler(
            servicer.Call,
            request_deserializer=PieceView,
            response_serializer=detect_pb2.Piece.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(FUNCTIONS_SERVICE, handlers),)
    )


class CallData:
    """The arrays a call sends apart from its message: its `data` pieces, taken array by array
    in the order the message names them (each array starts a piece of its own). Pieces are
    read from the stream as an array needs them, so an array made of several is put together
    while the rest still arrives, and the call never holds its pieces and their copy at once."""

    def __init__(self, first, pieces):
        self.first = first  # the data of the header's own piece, if any
        self.pieces = pieces

    def _next(self):
        if self.first is not None:
            data, self.first = self.first, None
            return data
        for piece in self.pieces:
            if len(piece.data):
                return piece.data
        return None

    def take(self, nbytes, expected):
        if nbytes != expected:
            raise ValueError(f"an array of {expected} bytes said it has {nbytes}")
        if nbytes == 0:
            return b""
        part = self._next()
        got = 0 if part is None else len(part)
        if got >= nbytes:
            if got != nbytes:
                raise ValueError(f"an array's pieces hold {got} bytes, not {nbytes}")
            return part  # a read-only view, as in-process
        # Several pieces into one new array (numpy asks for huge pages: see DetectRaw).
        joined = np.empty(nbytes, dtype=np.uint8)
        joined[:got] = np.frombuffer(part, dtype=np.uint8)
        while got < nbytes:
            part = self._next()
            if part is None or got + len(part) > nbytes:
                have = got + (0 if part is None else len(part))
                raise ValueError(f"an array's pieces hold {have} bytes, not {nbytes}")
            joined[got : got + len(part)] = np.frombuffer(part, dtype=np.uint8)
            got += len(part)
        joined.flags.writeable = False
        return joined

    def finish(self):
        """After the arguments: the call must have sent no more data than its arrays."""
        if self._next() is not None:
            raise ValueError("the call sent more data than its arrays")


class RemoteResult(Result):
    """A result by the worker processes' rules; an array too large for the message goes
    apart from it, as its bytes in `data` pieces (no copy until gRPC's own)."""

    def __init__(self, int64, has_float16):
        super().__init__(int64, has_float16)
        self.data = []

    def bytes_of(self, dtype, shape, data):
        if len(data) <= INLINE_BYTES:
            return super().bytes_of(dtype, shape, data)
        self.data.append(data)
        return wire.ExtType(EXT_ARRAY, wire.packb([dtype, shape, len(data)]))

    def pieces(self):
        for data in self.data:
            for at in range(0, len(data), PIECE_BYTES):
                yield detect_pb2.Piece(data=bytes(data[at : at + PIECE_BYTES]))


def resolve_exports(specs):
    """{"module:function": callable} for each exported name, imported now: the server never
    imports a module because a client named it."""
    exports = {}
    for spec in specs:
        module_name, sep, name = spec.partition(":")
        if not sep or not module_name or not name:
            raise SystemExit(f"--export {spec!r}: give module:function (numpy:linalg.norm)")
        target = importlib.import_module(module_name)
        for part in name.split("."):
            target = getattr(target, part)
        if not callable(target):
            raise SystemExit(f"--export {spec!r}: {name} is not callable")
        exports[spec] = target
    return exports


class Functions(detect_pb2_grpc.FunctionsServicer):
    """Calls of the exported functions, by the worker processes' rules (py_outliers_worker.py):
    the same arguments, results, int64 modes and errors as in-process. A call whose RPC is
    cancelled while it runs is interrupted with CallAborted, as in-process."""

    def __init__(self, exports, default):
        self.exports = exports
        self.default = default  # what the name "" calls: --module:--function (RemoteOutliers)
        self.lock = threading.Lock()  # an abort is raised into its own call only

    def Call(self, request_iterator, context):
        pieces = iter(request_iterator)
        first = next(pieces, None)
        try:
            call = wire.unpackb(first.header) if first is not None else None
            name, args, kwargs, int64, contract, has_float16 = call
            if type(name) is not str or type(args) is not list or type(kwargs) is not dict:
                raise ValueError("a call is [function, args, kwargs, int64, contract, float16]")
        except (TypeError, ValueError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"not a py-outliers call: {e}")
        func = self.default if name == "" else self.exports.get(name)
        if func is None:
            exported = ", ".join(sorted(self.exports)) or "nothing"
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"{name} is not exported by this server (it exports {exported}; --export)",
            )
        arguments = Arguments(None)
        arguments.data = CallData(first.data if len(first.data) else None, pieces)
        try:
            positional = arguments.value(args)
            keywords = arguments.value(kwargs)
            arguments.data.finish()
        except (KeyError, TypeError, ValueError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed arguments: {e}")
        result = RemoteResult(int64, bool(has_float16))
        metadata = context.invocation_metadata()
        idempotent = (IDEMPOTENT, "1") in metadata
        status, payload = self.run(
            context, func, contract, positional, keywords, result, idempotent
        )
        header = wire.packb([status, payload])
        if len(header) <= TRAILER_REPLY_BYTES and not (status == OK and result.data):
            if (REPLY_IN_TRAILER, "1") in metadata:
                # The whole reply in the status's trailing metadata: one batch fewer than a
                # message and then the status (about 8% of a 1k call, measured).
                context.set_trailing_metadata(((REPLY_IN_TRAILER + "-bin", header),))
                return
        yield detect_pb2.Piece(header=header)
        if status == OK:
            yield from result.pieces()

    def run(self, context, func, contract, positional, keywords, result, idempotent):
        state = {"thread": threading.get_ident(), "running": True, "aborted": False}

        def cancelled():
            with self.lock:
                if state["running"] and not state["aborted"]:
                    state["aborted"] = True
                    _set_async_exc(state["thread"], CallAborted)

        if not context.add_callback(cancelled):
            context.abort(grpc.StatusCode.CANCELLED, "the call was cancelled")
        # Before the function runs: a client tries a call again elsewhere only if this header
        # never came (src/remote-call.ts), so no call runs twice. A call of an idempotent
        # function is tried again either way: its client does not need it (one batch fewer).
        if not idempotent:
            context.send_initial_metadata((("py-outliers-started", "1"),))
        try:
            try:
                value = func(*positional, **keywords)
            finally:
                with self.lock:
                    state["running"] = False
                    if state["aborted"]:
                        _set_async_exc(state["thread"], None)  # if still pending
            return reply_of(value, contract, positional, result)
        except BaseException as e:  # CallAborted, SystemExit too: they must not stop the server
            return PYTHON_ERROR, _exception(e)


class Health(health_pb2_grpc.HealthServicer):
    """grpc.health.v1 Check, for the server ("") and its one service. Watch is left
    UNIMPLEMENTED (the spec allows it): it would hold a worker thread per watcher."""

    KNOWN = ("", SERVICE_NAME, FUNCTIONS_SERVICE)

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
    parser.add_argument(
        "--export",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="a function PythonFunction and Outliers may call (repeat it; default: "
        "--module:--function); nothing else can be called",
    )
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve TLS instead of plain TCP")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="listen beyond loopback without TLS (a network you trust)",
    )
    parser.add_argument(
        "--token-file",
        help="a file holding a token every call must carry (Authorization: Bearer); "
        "or set PY_OUTLIERS_SERVER_TOKEN",
    )
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_cert is None and not args.insecure and not is_loopback(args.host):
        parser.error(
            f"refusing to listen on {args.host} without TLS: give --tls-cert and --tls-key, or "
            "--insecure on a network you trust"
        )
    args.token = read_token(parser, args.token_file)
    if not args.export:
        args.export = [f"{args.module}:{args.function}"]
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    return args


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def read_token(parser, token_file):
    if token_file is not None:
        try:
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as e:
            parser.error(f"--token-file: {e}")
    else:
        token = os.environ.get("PY_OUTLIERS_SERVER_TOKEN", "").strip()
    return token or None


class TokenCheck(grpc.ServerInterceptor):
    """Every call but the health check must carry the token (Authorization: Bearer <token>),
    compared in constant time; else UNAUTHENTICATED, before the handler runs."""

    OPEN = "/grpc.health.v1.Health/Check"

    def __init__(self, token):
        self.expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, details):
        if details.method != self.OPEN:
            given = dict(details.invocation_metadata).get("authorization", "")
            if not hmac.compare_digest(given.encode(), self.expected):
                return self._refuse(continuation(details))
        return continuation(details)

    @staticmethod
    def _refuse(handler):
        def refuse(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "a missing or wrong token")

        if handler is None:
            return None
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(refuse)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(refuse)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(refuse)
        return grpc.unary_unary_rpc_method_handler(refuse)


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
    exports = resolve_exports(args.export)

    # grpcio sets SO_REUSEPORT by default on Linux, which would let a second server start on a
    # port already in use and silently share it: only the workers of one server may.
    options = [*OPTIONS, ("grpc.so_reuseport", 1 if reuse_port else 0)]
    interceptors = [TokenCheck(args.token)] if args.token else []
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.threads),
        options=options,
        interceptors=interceptors,
    )
    detect_pb2_grpc.add_OutliersServicer_to_server(Servicer(func), server)
    add_functions_service(Functions(exports, func), server)
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
