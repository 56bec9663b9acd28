// Interrupting a running async call (an AbortSignal fired): an exception is raised into the
// Python thread that runs it, with PyThreadState_SetAsyncExc, which needs the GIL.
//
// Why a thread of its own: the JS thread must not wait for the GIL (a call spinning in Python
// bytecode gives it up only every switch interval, 5 ms; one inside a C function, not at all),
// and the Python threads may all be busy. So the request is queued to an interrupter thread,
// started on first use, which takes the GIL and raises the exception if the call still runs
// (call_control.h). The exception is python/py_outliers_runtime.py's CallAborted, a
// BaseException so that `except Exception:` in the user's code does not swallow it. It lands at
// the next bytecode boundary: a call blocked in C (a long numpy loop, time.sleep) ends first.
#pragma once

#include <memory>

#include "calls/call_control.h"

namespace py_outliers {

// Any thread; no GIL needed. Only after Python started.
void RequestInterrupt(std::shared_ptr<CallControl> call);

}  // namespace py_outliers
