// detectAsync: Outliers' async call (async_call.h), whose work is CallDetect (detect_call.h).
#pragma once

#include <napi.h>

#include <memory>

#include "python_callable.h"

namespace py_outliers {

// JS thread. length > 0; `array` is the live Float64Array whose memory `data` points into.
// Returns the promise, or with `with_id` [promise, id], the id for CancelAsyncCall.
Napi::Value StartDetectAsync(Napi::Env env, const std::shared_ptr<PythonCallable>& callable,
                             Napi::TypedArray array, const double* data, size_t length,
                             bool with_id);

}  // namespace py_outliers
