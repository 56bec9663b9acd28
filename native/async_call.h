// Async calls: the Python call runs on a Python thread, the promise settles on the JS thread.
//
// The JS thread never touches the GIL for an async call. It converts and pins the arguments
// (plain C++ data, no Python objects), queues a job, and returns a promise. A Python thread
// runs the call and its conversion (an AsyncWork) and hands the outcome, again plain C++ data,
// to the environment's AsyncChannel, which settles the promise on the JS thread. Outliers'
// detectAsync and PythonFunction's callAsync differ only in their AsyncWork.
//
// Lifetimes, each a crash some peer shipped (docs/architecture.md, "Lifetimes at exit and in
// Workers"):
//  - the environment may end (process.exit, worker.terminate) while a call runs: the channel
//    then drops the outcome instead of calling into a dead environment;
//  - the JS object may be closed or collected while calls are queued: the job owns the
//    PythonCallable, so the function lives until the job is done, and a closed one refuses to
//    run;
//  - the caller may detach or transfer an input buffer: the work's pins own the memory itself;
//  - the caller may abort the call (AbortSignal): its promise is rejected at once, and the job,
//    which still owns the pins, lets go of the memory only when Python has.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <napi.h>

#include <memory>
#include <string>

#include "python_callable.h"
#include "python_error.h"

namespace py_outliers {

// What a call produced, as plain C++ data. Made on a Python thread (GIL held); settled, then
// destroyed, on the JS thread, or destroyed on the Python thread if nobody is left to tell.
class AsyncOutcome {
 public:
  virtual ~AsyncOutcome() = default;
  // JS thread: resolves or rejects `deferred`. May throw Napi::Error (building the value
  // failed); the promise is then rejected with that error.
  virtual void Settle(Napi::Env env, napi_deferred deferred) = 0;
};

// An outcome that rejects with a PythonError, or a ResultError (whose cause is the Python
// exception that converting the result raised, if `cause` is set).
std::unique_ptr<AsyncOutcome> PythonErrorOutcome(PythonErrorInfo error);
std::unique_ptr<AsyncOutcome> ResultErrorOutcome(std::string why, PythonErrorInfo cause = {});

// What one async call does on its Python thread, with the GIL held: build the arguments, call
// `func`, convert the result. Destroyed there too, still under the GIL.
class AsyncWork {
 public:
  virtual ~AsyncWork() = default;
  virtual std::unique_ptr<AsyncOutcome> Run(PyObject* func) = 0;
};

// JS thread. Queues `work` for `callable`; returns the promise, or with `with_id`
// [promise, id], the id for CancelAsyncCall.
Napi::Value StartAsyncCall(Napi::Env env, const std::shared_ptr<PythonCallable>& callable,
                           std::unique_ptr<AsyncWork> work, bool with_id);

// JS thread: a promise already settled with `value`, in StartAsyncCall's shape (id -1: nothing
// to cancel).
Napi::Value SettledAsyncCall(Napi::Env env, Napi::Value value, bool with_id);

// JS thread: aborts call `id` of this environment, rejecting its promise with `error` at once
// (call_control.h says what happens to the Python side). Returns whether it was still pending.
Napi::Value CancelAsyncCall(Napi::Env env, double id, Napi::Value error);

}  // namespace py_outliers
