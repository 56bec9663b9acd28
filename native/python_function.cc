#include "python_function.h"

#include <vector>

#include "async_call.h"
#include "buffer_pin.h"
#include "gil.h"
#include "js_to_plain.h"
#include "plain_to_js.h"
#include "plain_to_python.h"
#include "python_error.h"
#include "python_to_plain.h"

namespace py_outliers {
namespace {

constexpr const char* kClosed = "the PythonFunction is closed";

Int64Mode ModeOf(const Napi::Value& value) {
  switch (value.IsNumber() ? value.As<Napi::Number>().Int32Value() : 0) {
    case 1:
      return Int64Mode::kInt32;
    case 2:
      return Int64Mode::kFloat64;
    default:
      return Int64Mode::kBigInt;
  }
}

// How a call ended, as plain data.
struct CallOutcome {
  ResultStatus status = ResultStatus::kOk;
  PythonErrorInfo python_error;
  std::string why;
  PlainTree result;
};

// GIL held: arguments in, the call, the result out. `pin_js_array(index)` pins a sync call's
// argument that Python kept (async calls pinned theirs up front).
template <typename PinJsArray>
void RunCall(PyObject* func, PlainTree* args, Int64Mode mode, PinJsArray&& pin_js_array,
             CallOutcome* outcome) {
  PythonCall call;
  PyRef result;
  if (call.Build(args)) result = PyRef::Steal(call.Call(func));
  call.ReleaseAndPinIfKept(pin_js_array);
  if (result) {
    outcome->status = ResultToPlain(result.get(), mode, &outcome->result, &outcome->why);
    result.Reset();  // a handed-off array keeps its own reference
    if (outcome->status == ResultStatus::kOk || outcome->status == ResultStatus::kInvalid) return;
  }
  outcome->status = ResultStatus::kPythonError;
  outcome->python_error = TakePythonError();
}

class ValueOutcome : public AsyncOutcome {
 public:
  void Settle(Napi::Env env, napi_deferred deferred) override {
    napi_resolve_deferred(env, deferred, PlainToJs(env, &result));
  }
  PlainTree result;
};

class CallWork : public AsyncWork {
 public:
  CallWork(PlainTree args, Int64Mode mode) : args_(std::move(args)), mode_(mode) {}

  std::unique_ptr<AsyncOutcome> Run(PyObject* func) override {
    CallOutcome outcome;
    RunCall(func, &args_, mode_, [](int64_t) { return BufferPin(); }, &outcome);
    switch (outcome.status) {
      case ResultStatus::kOk: {
        auto value = std::make_unique<ValueOutcome>();
        value->result = std::move(outcome.result);
        return value;
      }
      case ResultStatus::kPythonError:
        return PythonErrorOutcome(std::move(outcome.python_error));
      case ResultStatus::kInvalid:
        break;
    }
    return ResultErrorOutcome(std::move(outcome.why));
  }

 private:
  PlainTree args_;  // its arrays' pins move into the views when the call starts
  Int64Mode mode_;
};

}  // namespace

Napi::Function PythonFunction::Define(Napi::Env env) {
  return DefineClass(env, "PythonFunction",
                     {
                         InstanceMethod<&PythonFunction::Call>("call"),
                         InstanceMethod<&PythonFunction::CallAsync>("callAsync"),
                         InstanceMethod<&PythonFunction::Close>("close"),
                     });
}

PythonFunction::PythonFunction(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<PythonFunction>(info) {
  callable_ = LoadPythonCallable(info.Env(), info[0].As<Napi::String>().Utf8Value(),
                                 info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Array>(),
                                 kClosed);
}

Napi::Value PythonFunction::Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!callable_) throw MakeClosedError(env, kClosed);
  PlainTree args;
  std::vector<napi_value> js_arrays;
  ArgumentsToPlain(env, info[0], info[1], /*pin_now=*/false, &args, &js_arrays);
  CallOutcome outcome;
  {
    GilHold hold;
    RunCall(
        callable_->func(), &args, ModeOf(info[2]),
        [&](int64_t index) { return BufferPin::Of(js_arrays[static_cast<size_t>(index)]); },
        &outcome);
  }
  switch (outcome.status) {
    case ResultStatus::kOk:
      return PlainToJs(env, &outcome.result);
    case ResultStatus::kPythonError:
      throw MakePythonError(env, outcome.python_error);
    case ResultStatus::kInvalid:
      break;
  }
  throw MakeResultError(env, outcome.why);
}

Napi::Value PythonFunction::CallAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!callable_) throw MakeClosedError(env, kClosed);
  PlainTree args;
  // Pinned now, on the JS thread: from here each array's memory lives until Python lets go of
  // it, whatever JS does to it (collect, detach, transfer, abort).
  ArgumentsToPlain(env, info[0], info[1], /*pin_now=*/true, &args, nullptr);
  return StartAsyncCall(env, callable_,
                        std::make_unique<CallWork>(std::move(args), ModeOf(info[2])),
                        info[3].ToBoolean().Value());
}

void PythonFunction::Close(const Napi::CallbackInfo&) {
  if (!callable_) return;
  callable_->Close();
  callable_.reset();
}

}  // namespace py_outliers
