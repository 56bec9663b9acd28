// The PythonFunction object: any Python callable, called with any arguments and returning any
// value JS can hold, under PythonFunction's contract (calls/function_work.h).
#pragma once

#include <napi.h>

#include "calls/function_work.h"
#include "objects/callable_object.h"

namespace py_outliers {

class PythonFunction : public CallableObject<PythonFunction> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new PythonFunction(moduleName, funcName, paths)
  explicit PythonFunction(const Napi::CallbackInfo& info);

 private:
  // call(args, kwargs, int64Mode): the result. int64Mode: an Int64Mode, as the addon's
  // int64Modes export numbers them.
  Napi::Value Call(const Napi::CallbackInfo& info);
  // callAsync(args, kwargs, int64Mode, withId): a promise, or [promise, id] (calls/async_call.h).
  Napi::Value CallAsync(const Napi::CallbackInfo& info);

  // The sync call's work and outcome, kept between calls so that their vectors keep their
  // capacity (function_work.h). JS thread only; `busy` while a call uses them, since a getter
  // run while the arguments are read may call this object again.
  FunctionWork work_;
  CallOutcome outcome_;
  bool busy_ = false;
};

}  // namespace py_outliers
