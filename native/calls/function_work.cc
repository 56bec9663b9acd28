#include "calls/function_work.h"

#include "runtime/py_ref.h"
#include "values/plain_to_js.h"
#include "values/python_to_plain.h"

namespace py_outliers {

void FunctionWork::Run(PyObject* func, CallOutcome* outcome) {
  PyRef result;
  if (call_.Build(&args_)) result = PyRef::Steal(call_.Call(func));
  call_.Release();
  if (!result) return outcome->Raised();
  outcome->status =
      ResultToPlain(result.get(), mode_, &result_, &outcome->why, &outcome->python_error);
  // Here, under the GIL: a handed-off array keeps its own reference.
}

Napi::Value FunctionWork::Result(Napi::Env env) { return PlainToJs(env, &result_); }

}  // namespace py_outliers
