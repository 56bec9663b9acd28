#include "calls/call.h"

#include "addon/js_errors.h"
#include "runtime/gil.h"

namespace py_outliers {

Napi::Value SettleCall(Napi::Env env, const CallOutcome& outcome, CallWork* work) {
  switch (outcome.status) {
    case ResultStatus::kOk:
      return work->Result(env);
    case ResultStatus::kPythonError:
      throw MakePythonError(env, outcome.python_error);
    case ResultStatus::kInvalid:
      break;
  }
  throw MakeResultError(env, outcome.why, outcome.python_error);
}

Napi::Value RunOnJsThread(Napi::Env env, PyObject* func, CallWork* work, CallOutcome* outcome) {
  {
    GilHold hold;
    work->Run(func, outcome);
  }
  return SettleCall(env, *outcome, work);
}

}  // namespace py_outliers
