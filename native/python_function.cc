#include "python_function.h"

#include "async_call.h"
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

// GIL held: arguments in, the call, the result out. `call` and `outcome->result` are empty
// on entry (reused, so that a sync call allocates nothing once warm).
void RunCall(PyObject* func, PlainTree* args, Int64Mode mode, PythonCall* call,
             CallOutcome* outcome) {
  PyRef result;
  if (call->Build(args)) result = PyRef::Steal(call->Call(func));
  call->Release();
  if (!result) {
    outcome->status = ResultStatus::kPythonError;
    outcome->python_error = TakePythonError();
    return;
  }
  outcome->status =
      ResultToPlain(result.get(), mode, &outcome->result, &outcome->why, &outcome->python_error);
  result.Reset();  // a handed-off array keeps its own reference
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
    PythonCall call;
    RunCall(func, &args_, mode_, &call, &outcome);
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
    return ResultErrorOutcome(std::move(outcome.why), std::move(outcome.python_error));
  }

 private:
  PlainTree args_;  // its arrays' pins move into the views when the call starts
  Int64Mode mode_;
};

}  // namespace

Napi::Function PythonFunction::Define(Napi::Env env) {
  return DefineClass(env, "PythonFunction",
                     {
                         InstanceMethod<&PythonFunction::CallAsync>("callAsync"),
                         InstanceMethod<&PythonFunction::Close>("close"),
                     });
}

PythonFunction::PythonFunction(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<PythonFunction>(info) {
  Napi::Env env = info.Env();
  callable_ = LoadPythonCallable(env, info[0].As<Napi::String>().Utf8Value(),
                                 info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Array>(),
                                 kClosed);
  // As Outliers' detect (outliers.cc): a function of this object's own, so the hot path gets
  // its C++ object from napi_get_cb_info rather than napi_unwrap.
  info.This().As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(
      "call", Napi::Function::New<CallTrampoline>(env, "call", this), napi_default));
}

Napi::Value PythonFunction::CallTrampoline(const Napi::CallbackInfo& info) {
  return static_cast<PythonFunction*>(info.Data())->Call(info);
}

Napi::Value PythonFunction::Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Our own reference: a getter run while the arguments are read may close() this object.
  const std::shared_ptr<PythonCallable> callable = callable_;
  if (!callable) throw MakeClosedError(env, kClosed);
  // The scratch space, unless a getter run while reading the arguments called us again.
  std::unique_ptr<Scratch> own;
  Scratch* scratch = &scratch_;
  if (scratch_.busy) {
    own = std::make_unique<Scratch>();
    scratch = own.get();
  }
  scratch->busy = true;
  struct Done {
    Scratch* scratch;
    ~Done() { scratch->Clear(); }
  } done{scratch};
  ArgumentsToPlain(env, info[0], info[1], &scratch->args);
  if (callable->closed()) throw MakeClosedError(env, kClosed);
  CallOutcome& outcome = scratch->outcome;
  {
    GilHold hold;
    RunCall(callable->func(), &scratch->args, ModeOf(info[2]), &scratch->call, &outcome);
  }
  switch (outcome.status) {
    case ResultStatus::kOk:
      return PlainToJs(env, &outcome.result);
    case ResultStatus::kPythonError:
      throw MakePythonError(env, outcome.python_error);
    case ResultStatus::kInvalid:
      break;
  }
  throw MakeResultError(env, outcome.why, outcome.python_error);
}

Napi::Value PythonFunction::CallAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // As in Call(): a getter may close() this object while the arguments are read; the job then
  // finds it closed and rejects with ClosedError.
  const std::shared_ptr<PythonCallable> callable = callable_;
  if (!callable) throw MakeClosedError(env, kClosed);
  PlainTree args;
  // Pinned now, on the JS thread: from here each array's memory lives until Python lets go of
  // it, whatever JS does to it (collect, detach, transfer, abort).
  ArgumentsToPlain(env, info[0], info[1], &args);
  return StartAsyncCall(env, callable, std::make_unique<CallWork>(std::move(args), ModeOf(info[2])),
                        info[3].ToBoolean().Value());
}

void PythonFunction::Close(const Napi::CallbackInfo&) {
  if (!callable_) return;
  callable_->Close();
  callable_.reset();
}

}  // namespace py_outliers
