"""Support code that the py-outliers addon runs inside the embedded interpreter.

Not a public API: the addon imports it once at start, from the package's own python/ folder.
Plain Python so that what it does is easy to read and to test from a normal interpreter.
"""

import importlib
import os
import platform
import re
import sys

# Imported here, on the addon's Python thread (the interpreter's main thread) during start-up,
# so that threading.main_thread() is that thread, as under `python`, and not the first JS
# thread to import threading. at_exit() depends on it: threading._shutdown() joins every
# non-daemon thread but the main one, and a JS thread never ends while Node runs.
import threading


class CallAborted(BaseException):
    """Raised into a running async call whose AbortSignal fired (native/calls/python_interrupt.h).

    A BaseException, like KeyboardInterrupt, so that `except Exception:` in the called code
    does not swallow it. Its result is discarded: the JS promise was already rejected.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("the call was aborted by its AbortSignal",)))


def check_environment(build_version: str) -> None:
    """Refuse to run where the interpreter is not the one the addon was built against."""
    running = "{}.{}".format(*sys.version_info[:2])
    if running != build_version:
        raise RuntimeError(
            f"py-outliers was built against Python {build_version} but Python {running} "
            "is running; rebuild the addon (npm rebuild py-outliers)"
        )
    venv = os.path.dirname(os.path.dirname(sys.executable))
    cfg = os.path.join(venv, "pyvenv.cfg")
    if not os.path.isfile(cfg):
        # Not a venv: the interpreter itself. libpython is the build's, so Python started
        # anyway, but sys.executable (what multiprocessing and subprocess users start) would
        # be another version's.
        named = re.fullmatch(
            r"python(\d+\.\d+)", os.path.basename(os.path.realpath(sys.executable))
        )
        if named and named.group(1) != build_version:
            raise RuntimeError(
                f"the Python interpreter {sys.executable} is Python {named.group(1)}, but "
                f"py-outliers was built against Python {build_version}; set PY_OUTLIERS_PYTHON "
                f"to a Python {build_version} interpreter or rebuild the addon "
                "(npm rebuild py-outliers)"
            )
        return
    with open(cfg, encoding="utf-8") as f:
        settings = dict(
            (key.strip(), value.strip())
            for key, sep, value in (line.partition("=") for line in f)
            if sep
        )
    made_with = settings.get("version_info") or settings.get("version") or ""
    if made_with and ".".join(made_with.split(".")[:2]) != build_version:
        raise RuntimeError(
            f"the virtualenv {venv} was made with Python {made_with}, but py-outliers was "
            f"built against Python {build_version}; recreate the venv or rebuild the addon"
        )


def numpy_failure(build_numpy: str, prebuilt: int, error: str) -> str:
    """Why numpy's C-API could not be loaded into the addon, and what to do about it."""
    try:
        import numpy
    except ImportError as exc:
        return (
            f"cannot import numpy in the Python interpreter '{sys.executable}' ({exc}). "
            f"Install it: '{sys.executable}' -m pip install numpy; or set PY_OUTLIERS_PYTHON "
            "to an interpreter (a venv's bin/python) that has it"
        )
    if prebuilt:
        return (
            f"the prebuilt addon needs numpy 1.23 or later, but the numpy installed for "
            f"'{sys.executable}' is {numpy.__version__} ({os.path.dirname(numpy.__file__)}; "
            f"{error}). Upgrade it: '{sys.executable}' -m pip install 'numpy>=1.23'; or build "
            "the addon against that numpy: PY_OUTLIERS_BUILD_FROM_SOURCE=1 npm rebuild py-outliers"
        )
    return (
        f"the addon was built against numpy {build_numpy}, but the numpy installed for "
        f"'{sys.executable}' is {numpy.__version__} ({os.path.dirname(numpy.__file__)}), "
        f"whose C-API the build cannot use ({error}). Rebuild it against that numpy: "
        "npm rebuild py-outliers"
    )


def configure_stdio() -> None:
    """sys.stdout line-buffered, as on a terminal, also when it is a pipe or a file (a service
    under Docker, systemd or Kubernetes): the interpreter is never finalized, so a block buffer
    would hold prints until the process's end. stderr is line-buffered already (Python 3.9+).
    """
    if sys.stdout is not None and not sys.stdout.line_buffering:
        sys.stdout.reconfigure(line_buffering=True)


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed or replaced stream: nothing more to do for it
            pass


def at_exit() -> None:
    """What `python` does at its end before it finalizes, minus the finalizing: flush what was
    printed, join non-daemon threads (running threading's own exit hooks, which
    concurrent.futures and loky use), run the atexit handlers, flush again. Runs once, on the
    addon's Python thread (native/runtime/python_exit.h)."""
    import atexit

    _flush_stdio()  # before anything that could hang: prints are never lost to a bad handler
    try:
        threading._shutdown()
    except Exception:
        import traceback

        traceback.print_exc()
    atexit._run_exitfuncs()
    _flush_stdio()


def add_paths(paths) -> None:
    """Prepend directories to sys.path (in the order given), skipping ones already there."""
    for path in reversed(list(paths)):
        if path not in sys.path:
            sys.path.insert(0, path)


def load(module_name: str, func_name: str, paths):
    """Import `module_name` (after adding `paths`) and return its attribute `func_name`.

    A dotted `func_name` walks attributes: `("numpy", "linalg.norm")` is `numpy.linalg.norm`.
    """
    add_paths(paths)
    found = importlib.import_module(module_name)
    for name in func_name.split("."):
        found = getattr(found, name)
    return found


def info() -> dict:
    """What the addon reports as runtimeInfo()."""
    import numpy

    return {
        "pythonVersion": platform.python_version(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "basePrefix": sys.base_prefix,
        "numpyVersion": numpy.__version__,
        "numpyPath": os.path.dirname(numpy.__file__),
    }
