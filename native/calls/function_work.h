// PythonFunction's contract (call.h): any arguments, as a PlainTree (values/js_to_plain.h), in;
// any result JS can hold, as a PlainTree (values/python_to_plain.h), out.
#pragma once

#include <napi.h>

#include "calls/call.h"
#include "values/plain_to_python.h"
#include "values/plain_value.h"

namespace py_outliers {

class FunctionWork final : public CallWork {
 public:
  void Run(PyObject* func, CallOutcome* outcome) override;
  Napi::Value Result(Napi::Env env) override;

  // JS thread, before the call: the arguments (their arrays pinned) and the int64 mode.
  PlainTree* args() { return &args_; }
  void set_int64_mode(Int64Mode mode) { mode_ = mode; }

  // Empties it for another call, keeping its vectors' capacity: the sync call reuses one, so a
  // warm call allocates no C++ memory. Pins and owners still held are released.
  void Clear() {
    args_.Clear();
    result_.Clear();
  }

 private:
  PlainTree args_;  // its arrays' pins move into the views when the call starts
  Int64Mode mode_ = Int64Mode::kBigInt;
  PythonCall call_;  // empty outside Run
  PlainTree result_;
};

}  // namespace py_outliers
