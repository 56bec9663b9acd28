// Python exceptions, taken as plain strings (a PythonErrorInfo) that JS errors are made of
// (addon/js_errors.h).
//
// The exception is taken, formatted and cleared while the GIL is held, and only plain strings
// cross to the JS side (docs/architecture.md, "Errors"): no Python object outlives its GIL hold,
// and the JS error can be built later on another thread (async calls). SystemExit and
// KeyboardInterrupt are exceptions like any other here: no call path calls PyErr_Print, the
// C-API function that would turn SystemExit into exit() of the Node process (python_exit.cc
// calls it only at process exit, for an atexit handler's error).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string>

namespace py_outliers {

struct PythonErrorInfo {
  std::string type;       // the exception class's __name__, e.g. "ValueError"
  std::string message;    // str(exception), whole (NULs kept; a lone surrogate as "\ud800")
  std::string traceback;  // "".join(traceback.format_exception(exception)), the same way
};

// GIL held, a Python exception set. Takes and clears it.
PythonErrorInfo TakePythonError();

// Remembers traceback.format_exception for TakePythonError. GIL held; once, at start.
bool LoadTracebackFormatter();

}  // namespace py_outliers
