// The Outliers object: one Python function, looked up once, called with Float64Arrays.
#pragma once

#include <napi.h>

#include <memory>

#include "buffer_pin.h"
#include "python_callable.h"

namespace py_outliers {

class Outliers : public Napi::ObjectWrap<Outliers> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Outliers(moduleName, funcName, paths, scratch): imports the module and finds the
  // function. `scratch` is an Int32Array that sync results small enough are written into.
  explicit Outliers(const Napi::CallbackInfo& info);

 private:
  static Napi::Value DetectTrampoline(const Napi::CallbackInfo& info);
  Napi::Value Detect(const Napi::CallbackInfo& info);
  Napi::Value DetectAsync(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  std::shared_ptr<PythonCallable> callable_;  // null once closed

  // Where detect() writes results of up to scratch_capacity_ indices; it then returns just the
  // count, and the TS layer copies them out with Int32Array.prototype.slice. V8 allocates a
  // small typed array from JS far more cheaply than napi_create_arraybuffer does (a third of
  // the per-call cost, measured with callgrind). Pinned, so the pointer stays valid.
  BufferPin scratch_pin_;
  int32_t* scratch_ = nullptr;
  size_t scratch_capacity_ = 0;
};

}  // namespace py_outliers
