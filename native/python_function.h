// The PythonFunction object: any Python callable, called with any arguments (js_to_plain.h)
// and returning any value JS can hold (python_to_plain.h), sync or async (async_call.h).
#pragma once

#include <napi.h>

#include <memory>

#include "numpy_view.h"
#include "plain_to_python.h"
#include "plain_value.h"
#include "python_callable.h"
#include "python_error.h"

namespace py_outliers {

// How a call ended, as plain data.
struct CallOutcome {
  ResultStatus status = ResultStatus::kOk;
  PythonErrorInfo python_error;
  std::string why;
  PlainTree result;
};

class PythonFunction : public Napi::ObjectWrap<PythonFunction> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new PythonFunction(moduleName, funcName, paths)
  explicit PythonFunction(const Napi::CallbackInfo& info);

 private:
  // call(args, kwargs, int64Mode): the result. int64Mode: 0 bigint, 1 int32, 2 float64.
  static Napi::Value CallTrampoline(const Napi::CallbackInfo& info);
  Napi::Value Call(const Napi::CallbackInfo& info);
  // callAsync(args, kwargs, int64Mode, withId): a promise, or [promise, id] (async_call.h).
  Napi::Value CallAsync(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  std::shared_ptr<PythonCallable> callable_;  // null once closed

  // A sync call's working space, kept between calls so that their vectors keep their
  // capacity: a warm call allocates no C++ memory. JS thread only.
  struct Scratch {
    PlainTree args;
    PythonCall call;
    CallOutcome outcome;
    bool busy = false;
    void Clear() {  // the arrays' pins and owners were moved out or are released here
      args.Clear();
      outcome.result.Clear();
      outcome.status = ResultStatus::kOk;
      busy = false;
    }
  };
  Scratch scratch_;
};

}  // namespace py_outliers
