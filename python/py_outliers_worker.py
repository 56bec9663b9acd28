"""A py-outliers worker process: runs a ProcessPool's calls (src/pool.ts) as plain `python`.

Started by the pool as `python py_outliers_worker.py <parent pid> <flags> <low-latency µs>`, with
its control channel on two inherited sockets (socketpairs): fd 3 carries calls and replies, read and
written by the main thread; fd 4 carries aborts, read by a thread of their own, which raises
CallAborted into the call running (as the in-process pool does). Frames are
a little-endian u32 length and one MessagePack value (py_outliers_wire.py). Arrays do not cross
in them: an argument array is in memory shared with Node (a memfd of the Node process, opened
as /proc/<parent>/fd/<n>), viewed read-only; a large result array is written once into a memfd
of this process, which Node maps (docs/processes.md has the whole protocol).

Standard library only, numpy if it is there: without numpy, arrays arrive as read-only
memoryviews with their format and shape, and memoryviews can be returned.

Messages from Node (lists):
    [0, call id, function id, open or None, args, kwargs, int64 mode]   a call
        open = [module, name, paths, contract]: the function, the first time this worker sees
        it; contract 0 is PythonFunction's, 1 is detect's (a float64 array in, indices out)
    [1, call id]          abort the call if it is running (CallAborted is raised in it), or
                          skip it if it has not started (a call sent ahead, or one whose abort
                          overtook it)
    [2, region ids]       forget these shared regions (Node has let them go)
    [3, function id]      forget this function
    [4, call ids]         Node has mapped these calls' result files: close them
A worker runs its calls in the order they came, one at a time, and replies to each before it
reads the next: a pool that sends calls ahead (src/pool.ts, sendAhead) relies on it.
Replies (lists):
    [0, pid, python version, has numpy]                 once, when ready
    [1, call id, status, payload, opened, rss bytes or None, keeps region]
        status 0: the result; 1: a Python exception [type, message, traceback];
        2: an invalid result [message, cause exception or None]; 3: a TypeError message
"""

import mmap
import os
import select
import struct
import sys
import threading
import time
import traceback

import py_outliers_wire as wire
from py_outliers_runtime import CallAborted

try:
    import numpy as np
except ImportError:  # arrays are memoryviews then
    np = None

CALL, ABORT, FORGET, CLOSE, MAPPED = 0, 1, 2, 3, 4
ABORTED_KEPT = 256  # aborts of calls not started that are remembered (each is a call id)
READY, REPLY = 0, 1
OK, PYTHON_ERROR, INVALID, TYPE_ERROR = 0, 1, 2, 3
INT64_BIGINT, INT64_INT32 = 0, 1  # src/pool-wire.ts, INT64_MODES (2 is float64)
DETECT = 1  # detect's contract (0 is PythonFunction's)
EXT_ARRAY, EXT_BIGINT, EXT_OBJECT = 1, 2, 3
MAX_DEPTH = 200  # native/values/plain_value.h, kMaxDepth
MAX_EXACT = 2**53
INLINE_BYTES = 64 * 1024  # a result array up to this size travels in the message itself
_frame = struct.Struct("<I")
READ_BYTES = 64 * 1024  # what one read of a channel asks for

# The memoryview format of each dtype on the wire, and the item size.
FORMATS = {
    "f8": ("d", 8),
    "f4": ("f", 4),
    "f2": ("e", 2),
    "i1": ("b", 1),
    "i2": ("h", 2),
    "i4": ("i", 4),
    "i8": ("q", 8),
    "u1": ("B", 1),
    "u2": ("H", 2),
    "u4": ("I", 4),
    "u8": ("Q", 8),
    "b1": ("?", 1),
}
DTYPE_OF_FORMAT = {fmt: dtype for dtype, (fmt, _) in FORMATS.items()}
# The numpy dtype of each, in this machine's byte order, made once (the calls' hot path).
NUMPY_DTYPES = {dtype: np.dtype(fmt) for dtype, (fmt, _) in FORMATS.items()} if np else {}
DTYPE_OF_FORMAT.update({"l": "i8", "L": "u8", "@d": "f8", "<d": "f8"})


class Invalid(Exception):
    """The result breaks the rules: JS has no counterpart for a value in it."""

    def __init__(self, problem, cause=None):
        super().__init__(problem)
        self.where = []
        self.problem = problem
        self.cause = cause

    def message(self):
        where = "result"
        for step in reversed(self.where):  # as native/values/python_to_plain.cc shows it
            if len(where) > 120:
                where += "..."
                break
            where += step
        return where + " is " + self.problem


def _type_name(obj):
    """The type's name as CPython's tp_name shows it ('set', 'numpy.ndarray', 'Foo')."""
    kind = type(obj)
    if kind.__flags__ & (1 << 9) or kind.__module__ == "builtins":  # a heap type: its name
        return kind.__name__
    return f"{kind.__module__}.{kind.__name__}"


def _exception(exc):
    """[type, message, traceback] of a Python exception, as the addon reports one."""
    kind = type(exc).__name__
    try:
        message = str(exc)
    except BaseException:
        message = "<exception str() failed>"
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException:
        text = f"{kind}: {message}\n"
    return [kind, message, text]


class Channel:
    """A socket to Node: fd 3 (calls and replies) or fd 4 (aborts)."""

    def __init__(self, fd):
        self.inp = self.out = fd
        self.pending = b""  # what was read past the last frame
        self.poller = None  # the low-latency mode's, made at its first use
        # Not for the user's own children: os.fork() or a subprocess with close_fds=False
        # must not hold the pool's channel open.
        os.set_inheritable(fd, False)

    def receive(self, poll_ns=0):
        """The next message, or None at the end of the channel. One read takes a whole frame
        (and whatever follows it) in the common case: a call costs one system call to read.
        With `poll_ns` (the low-latency mode), the channel is polled that long before the read
        may sleep."""
        data = self.pending
        if poll_ns and len(data) < 4:
            self._poll(poll_ns)
        while True:
            if len(data) >= 4:
                end = 4 + _frame.unpack_from(data)[0]
                if len(data) >= end:
                    self.pending = data[end:]
                    return decode_message(data[4:end])
                want = end - len(data)
            else:
                want = 4 - len(data)
            chunk = os.read(self.inp, max(want, READ_BYTES))
            if not chunk:
                return None  # Node closed the channel, or is gone
            data = data + chunk if data else chunk

    def _poll(self, poll_ns):
        # poll(0) releases the GIL on each try: the called code's own threads still run.
        if self.poller is None:
            self.poller = select.poll()
            self.poller.register(self.inp, select.POLLIN)
        until = time.perf_counter_ns() + poll_ns
        while not self.poller.poll(0) and time.perf_counter_ns() < until:
            pass

    def send(self, message):
        body = wire.packb(message)
        data = memoryview(_frame.pack(len(body)) + body)
        while data:
            data = data[os.write(self.out, data) :]


class Regions:
    """Node's shared regions this worker has mapped, by id, read-only."""

    def __init__(self):
        self.maps = {}

    def view(self, region_id, path, size):
        entry = self.maps.get(region_id)
        if entry is None or len(entry) < size:
            fd = os.open(path, os.O_RDONLY)
            try:
                entry = mmap.mmap(fd, size, prot=mmap.PROT_READ) if size else b""
            finally:
                os.close(fd)
            self.maps[region_id] = entry
        return entry

    def forget(self, region_id):
        # A view the called code kept holds its mapping alive; the map itself goes.
        self.maps.pop(region_id, None)


class Arguments:
    """The wire's values as Python objects: arrays as read-only views (numpy or memoryview)."""

    def __init__(self, regions):
        self.regions = regions
        self.views = []  # the arrays made for this call, to see whether the call kept one
        self.shared = set()  # the regions they view
        # Where arrays sent apart from the message come from (a server's call, grpc_server.py:
        # `where` is then their byte count), else None.
        self.data = None

    def value(self, obj):
        kind = type(obj)
        if kind is list:
            return [self.value(item) for item in obj]
        if kind is dict:
            return {key: self.value(item) for key, item in obj.items()}
        if kind is wire.ExtType:
            if obj.code == EXT_BIGINT:
                return int(obj.data.decode("ascii"))
            if obj.code == EXT_ARRAY:
                return self.array(*_array_header(obj.data))
            raise ValueError(f"unknown ext type {obj.code}")
        return obj

    def array(self, dtype, shape, where):
        fmt, size = FORMATS[dtype]
        count = 1
        for dim in shape:
            count *= dim
        if type(where) is bytes:
            memory = where
            offset = 0
        elif type(where) is int and self.data is not None:
            memory = self.data.take(where, count * size)
            offset = 0
        else:
            region_id, path, region_size, offset = where
            memory = self.regions.view(region_id, path, region_size)
            self.shared.add(region_id)
        if np is not None:
            view = np.frombuffer(memory, dtype=NUMPY_DTYPES[dtype], count=count, offset=offset)
            if len(shape) != 1:
                view = view.reshape(shape)
        else:
            flat = memoryview(memory)[offset : offset + count * size]
            view = flat.cast(fmt, shape) if count else flat.cast(fmt)
        self.views.append(view)
        return view

    def kept(self):
        """Whether the called code kept a view of shared memory (a global, a cache)."""
        if not self.shared:
            return False
        for view in self.views:
            # Ours: the list's reference, `view` and getrefcount's argument.
            if sys.getrefcount(view) > 3:
                return True
        return False


_call_tails = {}
CALL_HEAD = bytes((0x97, CALL))  # a call's message: a list of 7, kind first
CACHED_TAIL_BYTES = 256


def decode_message(body):
    """A message from Node. A call's message after its id (the function, the arguments' array
    headers, the keywords) repeats call after call: it is decoded once per distinct tail, and
    the decoded values are shared by the calls that send it (Arguments makes new lists and
    dicts of them; nothing changes them)."""
    if body[:2] != CALL_HEAD:
        return wire.unpackb(body)
    # An int, or past 2^32 calls a float: @msgpack/msgpack encodes such a number as float64.
    call_id, pos = wire.unpack_from(body, 2)
    tail = body[pos:]
    values = _call_tails.get(tail)
    if values is None:
        values = wire.unpack_values(tail, 0, 5)
        if len(tail) <= CACHED_TAIL_BYTES:  # not inline arrays, which differ every call
            if len(_call_tails) >= 256:
                _call_tails.clear()
            _call_tails[tail] = values
    return [CALL, call_id, *values]


_headers = {}


def _array_header(data):
    """An array's [dtype, shape, where], decoded once per distinct header: a caller passing
    the same region, offset and shape call after call sends the same bytes. (An array small
    enough to travel inline is its own bytes: not kept.)"""
    if len(data) > 128:
        return wire.unpackb(data)
    header = _headers.get(data)
    if header is None:
        if len(_headers) >= 256:
            _headers.clear()
        header = _headers[data] = wire.unpackb(data)
    return header


class Result:
    """A call's result as wire values, by the rules of native/values/python_to_plain.cc."""

    def __init__(self, int64, has_float16):
        self.int64 = int64
        self.has_float16 = has_float16
        self.files = []  # memfds of result arrays, closed when Node has mapped them

    def value(self, obj, depth=0):
        if depth > MAX_DEPTH:
            raise Invalid(f"nested deeper than {MAX_DEPTH} levels (does the result hold itself?)")
        if np is not None and type(obj) is np.ndarray and obj.ndim:  # the common result first
            return self.array(obj)
        if obj is None or obj is True or obj is False:
            return obj
        if isinstance(obj, int):
            return self.int(int.__int__(obj))
        if isinstance(obj, float):
            return float.__float__(obj)
        if isinstance(obj, str):
            return str.__str__(obj)
        if np is not None and isinstance(obj, np.ndarray):
            if type(obj) is not np.ndarray and isinstance(obj, np.ma.MaskedArray):
                raise Invalid(
                    "a numpy.ma.MaskedArray, whose mask JS would lose: return .filled(value), "
                    ".compressed(), or its .data and .mask apart"
                )
            if obj.ndim == 0:
                return self.value(np.ndarray.__getitem__(obj, ()), depth + 1)
            return self.array(obj)
        if np is not None and isinstance(obj, np.generic):
            if isinstance(obj, np.bool_):
                return bool(obj)
            if isinstance(obj, np.integer):
                return self.int(int(obj))
            if isinstance(obj, np.floating):
                return float(obj)
        if isinstance(obj, memoryview):
            return self.memoryview(obj)
        if isinstance(obj, (list, tuple)):
            out = []
            for i, item in enumerate(list(obj)):
                try:
                    out.append(self.value(item, depth + 1))
                except Invalid as exc:
                    exc.where.append(f"[{i}]")
                    raise
            return out
        if isinstance(obj, dict):
            out = {}
            for key, item in list(dict.items(obj)):
                if not isinstance(key, str):
                    raise Invalid(
                        f"a dict with a key of type {_type_name(key)} (JS object keys are strings)"
                    )
                try:
                    out[str.__str__(key)] = self.value(item, depth + 1)
                except Invalid as exc:
                    exc.where.append(f"[{key!r}]")
                    raise
            if "__proto__" in out:
                # MessagePack decoders refuse that key in a map (it would set the prototype):
                # the object goes as its list of entries, which Node makes own properties.
                return wire.ExtType(EXT_OBJECT, wire.packb([x for kv in out.items() for x in kv]))
            return out
        raise Invalid(f"a {_type_name(obj)}, which has no JS counterpart")

    def int(self, value):
        if -(2**31) <= value < 2**32:
            return value
        if -MAX_EXACT <= value <= MAX_EXACT:
            return float(value)  # a number on the JS side, exactly
        if self.int64 != INT64_BIGINT:
            raise Invalid(
                "an int beyond 2^53, which a number cannot hold exactly (int64: 'bigint' gives "
                "a bigint)"
            )
        if -(2**63) <= value < 2**64:
            return value  # int64/uint64 on the wire: a bigint in JS
        return wire.ExtType(EXT_BIGINT, str(value).encode("ascii"))

    def array(self, obj):
        kind, size = obj.dtype.kind, obj.dtype.itemsize
        if kind == "b" and size == 1:
            dtype = "b1"
        elif kind in "iu" and size in (1, 2, 4, 8):
            dtype = f"{kind}{size}"
        elif kind == "f" and size in (2, 4, 8):
            dtype = f"f{size}"
            if size == 2 and not self.has_float16:
                dtype = "f4"
        else:
            raise Invalid(f"an array of dtype {obj.dtype}, which no typed array holds")
        shape = list(obj.shape)
        wanted = NUMPY_DTYPES[dtype]
        if obj.dtype == wanted and obj.flags.c_contiguous:
            ready = obj  # as it is: no copy before the one into the message or the memfd
        else:
            ready = np.ascontiguousarray(obj, dtype=wanted)
        if dtype in ("i8", "u8") and self.int64 != INT64_BIGINT:
            ready = self.narrow(ready)
            dtype = "i4" if self.int64 == INT64_INT32 else "f8"
        if dtype == "b1":
            dtype = "u1"  # bools as 0 and 1, whatever byte a view put there
            ready = ready.astype(np.uint8)
        if ready.nbytes <= INLINE_BYTES:
            return wire.ExtType(EXT_ARRAY, wire.packb([dtype, shape, ready.tobytes()]))
        # Its bytes, flat (a uint8 view: memoryview cannot cast a shape with a zero).
        return self.bytes_of(dtype, shape, memoryview(ready.reshape(-1).view(np.uint8)))

    def narrow(self, ready):
        to_int32 = self.int64 == INT64_INT32
        low, high = (-(2**31), 2**31 - 1) if to_int32 else (-MAX_EXACT, MAX_EXACT)
        flat = ready.reshape(-1)
        wrong = np.flatnonzero((flat < low) | (flat > high)) if flat.size else []
        if len(wrong):
            i = int(wrong[0])
            raise Invalid(
                f"an integer array whose element {i} ({int(flat[i])}) does not fit "
                + (
                    "an Int32Array (int64: 'int32')"
                    if to_int32
                    else "a Float64Array exactly (int64: 'float64')"
                )
                + "; int64: 'bigint' gives a BigInt64Array"
            )
        return ready.astype(np.int32 if to_int32 else np.float64)

    def memoryview(self, obj):
        dtype = DTYPE_OF_FORMAT.get(obj.format)
        if dtype is None or not obj.c_contiguous:
            raise Invalid(f"a memoryview of format {obj.format!r}, which no typed array holds")
        shape = list(obj.shape or ())
        flat = obj.cast("B")
        if dtype in ("i8", "u8") and self.int64 != INT64_BIGINT:
            return self.value([int(v) for v in obj.cast(obj.format)], 0)
        return self.bytes_of(dtype, shape, flat)

    def bytes_of(self, dtype, shape, data):
        if len(data) <= INLINE_BYTES:
            where = bytes(data)
        else:
            # One copy, into a memfd Node maps (copy-on-write) as the result's memory.
            fd = os.memfd_create("py-outliers-result", os.MFD_CLOEXEC)
            self.files.append(fd)
            os.ftruncate(fd, len(data))
            with mmap.mmap(fd, len(data)) as out:
                out[:] = data
            where = [f"/proc/{os.getpid()}/fd/{fd}", len(data)]
        return wire.ExtType(EXT_ARRAY, wire.packb([dtype, shape, where]))


def detect_result(result, length):
    """Detect's contract: a 1-D integer array or sequence of indices in [0, length)."""
    if np is None:
        raise Invalid("detect's contract needs numpy in the worker's Python")
    if type(result) is np.ndarray and result.ndim == 1 and result.dtype == np.int64:
        # What np.where/np.flatnonzero give: checked in one pass, narrowed in one copy.
        if result.size and int(result.view(np.uint64).max()) >= length:
            _outside(result, length)
        return result.astype(np.int32)
    was_array = isinstance(result, np.ndarray)
    if not was_array:
        try:
            size = len(result)
        except Exception:
            size = -1
        if size > length:
            raise Invalid(f"returned {size} indices for {length} input values")
    array = result if was_array else np.asarray(result)
    if array.ndim != 1:
        raise Invalid(
            "expected a 1-D integer array or sequence of ints, got "
            f"{_type_name(result)} (as an array: {array.ndim}-D)"
        )
    integer = array.dtype.kind in "iu"
    if array.size == 0 and (not was_array or integer):
        return np.empty(0, np.int32)
    if array.dtype.kind == "b":
        raise Invalid("got a boolean array; return indices (np.flatnonzero(mask)), not a mask")
    if not integer:
        raise Invalid(f"expected integer indices, got {_type_name(result)} of dtype {array.dtype}")
    if array.size > length:
        raise Invalid(f"returned {array.size} indices for {length} input values")
    indices = array.astype(np.int64, copy=False)
    # One pass: as uint64, a negative index is past any length too.
    if array.size and int(indices.view(np.uint64).max()) >= length:
        _outside(indices, length)
    return indices.astype(np.int32)


def _outside(indices, length):
    i = int(np.flatnonzero((indices < 0) | (indices >= length))[0])
    raise Invalid(f"index {int(indices[i])} at position {i} is outside [0, {length})")


def reply_of(value, contract, positional, result):
    """A call's returned value as its reply, (status, payload): by detect's contract or
    PythonFunction's (also a server's, grpc_server.py)."""
    try:
        if contract == DETECT:
            value = detect_result(value, len(positional[0]))
        return OK, result.value(value)
    except Invalid as exc:
        return INVALID, [exc.message(), None]
    except CallAborted:
        raise
    except BaseException as exc:  # Python code ran while the result was read
        cause = _exception(exc)
        return INVALID, [f"result could not be converted: {cause[0]}: {cause[1]}", cause]


class Worker:
    def __init__(self, channel, report_rss, has_float16, poll_ns=0):
        self.channel = channel
        self.poll_ns = poll_ns  # the low-latency mode's window after each call; 0: off
        self.report_rss = report_rss
        self.has_float16 = has_float16
        self.functions = {}
        self.regions = Regions()
        self.running = None  # the id of the call running now
        self.aborted = False
        # Calls aborted before they started (ids, in order): they are skipped. An abort that
        # crossed its call's reply leaves an id here that never comes: the oldest go.
        self.skip = {}
        self.lock = threading.Lock()
        self.result_files = {}  # call id: its result memfds, open until Node has mapped them

    # ---- the abort thread: reads fd 4, raises CallAborted into the call it names

    def read_aborts(self, aborts):
        while True:
            try:
                message = aborts.receive()
            except Exception:  # a broken frame: Node's side is gone or broken
                return
            if message is None:
                return
            if message[0] == ABORT:
                self.abort(message[1])

    def abort(self, call_id):
        # Under the lock, so that the exception is raised into this call and no other: the
        # main thread clears `running` (and any exception still pending) under it too.
        with self.lock:
            if self.running == call_id:
                if not self.aborted:
                    self.aborted = True
                    _set_async_exc(threading.main_thread().ident, CallAborted)
            else:
                self.skip[call_id] = True
                while len(self.skip) > ABORTED_KEPT:
                    del self.skip[next(iter(self.skip))]

    # ---- the main thread: calls, one at a time, as `python` runs them

    def serve(self):
        poll_ns = 0
        while True:
            message = self.channel.receive(poll_ns)
            if message is None:  # Node closed the channel (the pool closes or recycles us)
                return
            kind = message[0]
            poll_ns = 0
            if kind == CALL:
                self.call(*message[1:])
                poll_ns = self.poll_ns
            elif kind == FORGET:
                for region_id in message[1]:
                    self.regions.forget(region_id)
            elif kind == CLOSE:
                self.functions.pop(message[1], None)
            elif kind == MAPPED:
                for call_id in message[1]:
                    for fd in self.result_files.pop(call_id, ()):
                        os.close(fd)

    def open(self, spec):
        module_name, name, paths, contract = spec
        for path in reversed(paths):
            if path not in sys.path:
                sys.path.insert(0, path)
        import importlib

        target = importlib.import_module(module_name)
        for part in name.split("."):
            target = getattr(target, part)
        if not callable(target):
            raise NotCallable(f"{module_name}.{name} is not callable")
        return target, contract

    def call(self, call_id, function_id, spec, args, kwargs, int64):
        result = Result(int64, self.has_float16)
        arguments = Arguments(self.regions)
        opened = False
        try:
            entry = self.functions.get(function_id)
            if entry is None:
                if spec is None:
                    raise RuntimeError("the pool sent a call of a function it never opened")
                entry = self.functions[function_id] = self.open(spec)
            opened = True
            status, payload = self.run(call_id, entry, arguments, args, kwargs, result)
        except NotCallable as exc:
            status, payload = TYPE_ERROR, str(exc)
        except BaseException as exc:  # CallAborted, SystemExit, KeyboardInterrupt too
            status, payload = PYTHON_ERROR, _exception(exc)
        finally:
            self.finish()  # an abort that raced the call's end is cleared here
        # After the exception (and its traceback's frames) is gone: only the called code's
        # own references to an argument's view are left.
        keeps = arguments.kept()
        rss = _rss_bytes() if self.report_rss else None
        try:
            self.channel.send([REPLY, call_id, status, payload, opened, rss, keeps])
        except (OverflowError, ValueError, TypeError) as exc:
            invalid = [f"result cannot be sent: {exc}", None]
            self.channel.send([REPLY, call_id, INVALID, invalid, opened, rss, keeps])
        if result.files:
            self.result_files[call_id] = result.files

    def run(self, call_id, entry, arguments, args, kwargs, result):
        """The call itself, and its result on the wire: (status, payload)."""
        func, contract = entry
        positional = arguments.value(args)
        keywords = arguments.value(kwargs)
        with self.lock:
            if self.skip.pop(call_id, False):
                raise CallAborted()
            self.running = call_id
        try:
            value = func(*positional, **keywords)
        finally:
            self.finish()
        return reply_of(value, contract, positional, result)

    def finish(self):
        with self.lock:
            self.running = None
            if self.aborted:
                self.aborted = False
                _set_async_exc(threading.main_thread().ident, None)  # if still pending


class NotCallable(Exception):
    """The attribute named is not callable: a TypeError on the Node side."""


def _set_async_exc(thread_id, exc):
    """Raises `exc` in the thread at its next instruction; None clears one still pending. The
    clearing passes NULL, as the C API asks: py_object(None) would set None itself as the
    exception, and the thread then raised SystemError ("exception None is not a BaseException
    subclass") after every aborted call, which ended the worker."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), None if exc is None else ctypes.py_object(exc)
    )


def _rss_bytes():
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * mmap.PAGESIZE
    except (OSError, ValueError, IndexError):
        return None


def _end_with_parent(parent):
    """No orphans: the kernel kills this process when the Node thread that started it ends,
    even by SIGKILL (Linux's PR_SET_PDEATHSIG). Elsewhere, the reader thread's end of file on
    fd 3 ends the worker once the call running returns."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux, or no ctypes: the pipe's end of file is the only sign
        pass
    if os.getppid() != parent:  # Node died before prctl took effect
        os._exit(1)


def _tune_malloc():
    """glibc's malloc thresholds as the in-process addon sets them (docs/architecture.md,
    "malloc thresholds"): without them numpy's large temporaries are returned to the kernel on
    every free, and detect on 100k values took 6.5 ms instead of 0.2 ms here. Set with mallopt, in
    this process only: a program it runs (subprocess, exec) starts with glibc's defaults.
    PY_OUTLIERS_MALLOC_TUNING=0 leaves them alone, as in-process."""
    if os.environ.get("PY_OUTLIERS_MALLOC_TUNING") == "0":
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def _poll_ns(argv):
    """The low-latency mode's window (PY_OUTLIERS_LOW_LATENCY_US, as Node read it), in ns: off
    where this process may run on one CPU only, as in Node (native/runtime/cpu_budget.h)."""
    try:
        window_us = int(argv[3]) if len(argv) > 3 else 0
    except ValueError:
        return 0
    try:
        if len(os.sched_getaffinity(0)) < 2:
            return 0
    except (AttributeError, OSError):  # no affinity masks here: as Node counted
        pass
    return max(0, window_us) * 1000


def main():
    parent = int(sys.argv[1])
    flags = sys.argv[2] if len(sys.argv) > 2 else ""
    _end_with_parent(parent)
    _tune_malloc()
    import py_outliers_runtime

    py_outliers_runtime.configure_stdio()  # prints are not held back, as in-process
    channel = Channel(3)
    worker = Worker(
        channel, report_rss="r" in flags, has_float16="h" in flags, poll_ns=_poll_ns(sys.argv)
    )
    aborts = threading.Thread(
        target=worker.read_aborts, args=(Channel(4),), name="py-outliers-aborts", daemon=True
    )
    aborts.start()
    channel.send([READY, os.getpid(), "{}.{}.{}".format(*sys.version_info[:3]), np is not None])
    worker.serve()


if __name__ == "__main__":
    # The worker's own module is not __main__'s business: the called code sees a plain
    # interpreter, with this script's folder (the package's python/) first on sys.path.
    main()
