// A call's other place (call.h): on a thread of the Python pool, its promise settled on the JS
// thread.
//
// The JS thread never touches the GIL for an async call. It converts and pins the arguments
// (plain C++ data, no Python objects), queues a job, and returns a promise. A Python thread
// runs the call's work and hands it back with its outcome, again plain C++ data, to the
// environment's AsyncChannel, which settles the promise on the JS thread through SettleCall, as
// a sync call settles. Outliers' detectAsync and PythonFunction's callAsync differ only in
// their work.
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

#include <napi.h>

#include <memory>

#include "calls/call.h"
#include "calls/python_callable.h"

namespace py_outliers {

// JS thread. Queues `work` for `callable`; returns the promise, or with `with_id`
// [promise, id], the id for CancelAsyncCall.
Napi::Value StartAsyncCall(Napi::Env env, const std::shared_ptr<PythonCallable>& callable,
                           std::unique_ptr<CallWork> work, bool with_id);

// JS thread: a promise already settled with `value`, in StartAsyncCall's shape (id -1: nothing
// to cancel).
Napi::Value SettledAsyncCall(Napi::Env env, Napi::Value value, bool with_id);

// JS thread: aborts call `id` of this environment, rejecting its promise with `error` at once
// (call_control.h says what happens to the Python side). Returns whether it was still pending.
Napi::Value CancelAsyncCall(Napi::Env env, double id, Napi::Value error);

}  // namespace py_outliers
