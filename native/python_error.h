// Python exceptions, carried to JS as PythonError.
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
#include <napi.h>

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

// JS thread: a PythonError (the class registered by the TS layer) for `info`.
Napi::Error MakePythonError(Napi::Env env, const PythonErrorInfo& info);

// JS thread: the error for a call on a closed Outliers or PythonFunction (ClosedError).
Napi::Error MakeClosedError(Napi::Env env, const std::string& message);

// JS thread: the error for a function result that breaks the rules (ResultError); its
// `cause` is a PythonError for `cause` if Python raised while the result was read.
Napi::Error MakeResultError(Napi::Env env, const std::string& why,
                            const PythonErrorInfo& cause = {});

}  // namespace py_outliers
