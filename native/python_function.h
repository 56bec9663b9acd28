// The PythonFunction object: any Python callable, called with any arguments (js_to_plain.h)
// and returning any value JS can hold (python_to_plain.h), sync or async (async_call.h).
#pragma once

#include <napi.h>

#include <memory>

#include "python_callable.h"

namespace py_outliers {

class PythonFunction : public Napi::ObjectWrap<PythonFunction> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new PythonFunction(moduleName, funcName, paths)
  explicit PythonFunction(const Napi::CallbackInfo& info);

 private:
  // call(args, kwargs, int64Mode): the result. int64Mode: 0 bigint, 1 int32, 2 float64.
  Napi::Value Call(const Napi::CallbackInfo& info);
  // callAsync(args, kwargs, int64Mode, withId): a promise, or [promise, id] (async_call.h).
  Napi::Value CallAsync(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  std::shared_ptr<PythonCallable> callable_;  // null once closed
};

}  // namespace py_outliers
