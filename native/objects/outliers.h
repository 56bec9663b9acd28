// The Outliers object: a Python function called with Float64Arrays, under detect's contract
// (calls/detect_work.h).
#pragma once

#include <napi.h>

#include "objects/callable_object.h"
#include "values/buffer_pin.h"

namespace py_outliers {

class Outliers : public CallableObject<Outliers> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Outliers(moduleName, funcName, paths, scratch): imports the module and finds the
  // function. `scratch` is an Int32Array that sync results small enough are written into.
  explicit Outliers(const Napi::CallbackInfo& info);

 private:
  // detect(values): the number of indices written to the scratch array, or a new Int32Array.
  Napi::Value Detect(const Napi::CallbackInfo& info);
  // detectAsync(values, withId): a promise, or [promise, id] (calls/async_call.h).
  Napi::Value DetectAsync(const Napi::CallbackInfo& info);

  // Where detect() writes results of up to scratch_capacity_ indices; it then returns just the
  // count, and the TS layer copies them out with Int32Array.prototype.slice. V8 allocates a
  // small typed array from JS far more cheaply than napi_create_arraybuffer does (a third of
  // the per-call cost, measured with callgrind). Pinned, so the pointer stays valid.
  BufferPin scratch_pin_;
  int32_t* scratch_ = nullptr;
  size_t scratch_capacity_ = 0;
};

}  // namespace py_outliers
