// The call core: one call of a Python callable, whichever object makes it and wherever it runs.
//
// A call is a callable (python_callable.h), its work and its outcome. The work is the call's
// contract: how its arguments reach Python and how its result is read back, as plain data. Two
// contracts exist: detect's (a float64 view in, checked indices out; detect_work.h) and
// PythonFunction's (any plain arguments in, any plain result out; function_work.h). Where the
// call runs is the other half, and the seam where worker processes and remote servers join
// (docs/architecture.md, "The call core"): here, on the JS thread (RunOnJsThread), or on a
// thread of the Python pool (async_call.h). Both end in SettleCall, the one place an outcome
// becomes a JS value or error.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <napi.h>

#include <string>

#include "runtime/python_error.h"
#include "values/result_status.h"

namespace py_outliers {

// How a call ended, as plain data that any thread may hold.
struct CallOutcome {
  ResultStatus status = ResultStatus::kOk;
  PythonErrorInfo python_error;  // kPythonError; with kInvalid, what reading the result raised
  std::string why;               // kInvalid: which rule the result broke, and where

  // GIL held, a Python exception set: the call raised it.
  void Raised() {
    status = ResultStatus::kPythonError;
    python_error = TakePythonError();
  }
  // GIL held, a Python exception set: reading the result raised it, so the result is what
  // was wrong (a hostile __len__, out of memory), and the exception is why.
  void ReadFailed(const std::string& what) {
    status = ResultStatus::kInvalid;
    python_error = TakePythonError();
    why = what + python_error.type + ": " + python_error.message;
  }
  void Clear() {
    status = ResultStatus::kOk;
    why.clear();
  }
};

// What one call does. Run happens wherever the call runs, with the GIL held; Result on the JS
// thread. After Run the work holds no Python reference (its pins moved into the views, its
// Python objects were released), so it may cross threads and die without the GIL.
class CallWork {
 public:
  virtual ~CallWork() = default;
  // GIL held: builds the arguments, calls `func`, reads the result into plain data.
  virtual void Run(PyObject* func, CallOutcome* outcome) = 0;
  // JS thread, after a Run whose outcome is kOk: the result as a JS value. May throw
  // Napi::Error (out of memory).
  virtual Napi::Value Result(Napi::Env env) = 0;
};

// JS thread: the call's value, or throws its PythonError or ResultError.
Napi::Value SettleCall(Napi::Env env, const CallOutcome& outcome, CallWork* work);

// JS thread: runs the call here, holding the GIL for its length, and settles it. Blocks the
// thread, as a sync call must.
Napi::Value RunOnJsThread(Napi::Env env, PyObject* func, CallWork* work, CallOutcome* outcome);

}  // namespace py_outliers
