// detectAsync: the call runs on the Python thread, the promise settles on the JS thread.
//
// The JS thread never touches the GIL for an async call. It pins the input's memory
// (buffer_pin.h), queues a job, and returns a promise. The Python thread runs the call and
// hands a plain C++ result (indices or error text, no Python or JS objects) to the
// environment's AsyncChannel, which settles the promise on the JS thread.
//
// Lifetimes, each a crash some peer shipped (NOTES.md item 17):
//  - the environment may end (process.exit, worker.terminate) while a call runs: the channel
//    then drops the result instead of calling into a dead environment;
//  - the Outliers object may be closed or collected while calls are queued: the job owns the
//    Detector, so the function lives until the job is done, and a closed one refuses to run;
//  - the caller may detach or transfer the buffer: the pin owns the memory itself;
//  - the caller may abort the call (AbortSignal): its promise is rejected at once, and the job,
//    which still owns the pin, lets go of the memory only when Python has.
#pragma once

#include <napi.h>

#include <memory>

#include "detector.h"

namespace py_outliers {

// JS thread. length > 0; `array` is the live Float64Array whose memory `data` points into.
// Returns the promise, or with `with_id` [promise, id], the id for CancelDetectAsync.
Napi::Value StartDetectAsync(Napi::Env env, const std::shared_ptr<Detector>& detector,
                             Napi::TypedArray array, const double* data, size_t length,
                             bool with_id);

// JS thread: aborts call `id` of this environment, rejecting its promise with `error` at once
// (call_control.h says what happens to the Python side). Returns whether it was still pending.
Napi::Value CancelDetectAsync(Napi::Env env, double id, Napi::Value error);

}  // namespace py_outliers
