#include "objects/python_function.h"

#include "values/js_to_plain.h"

namespace py_outliers {
namespace {

// The TS layer passes a mode from the addon's int64Modes (addon/addon.cc); anything else is the
// default, lossless one.
Int64Mode Int64ModeOf(const Napi::Value& value) {
  const int32_t code = value.IsNumber() ? value.As<Napi::Number>().Int32Value() : 0;
  switch (static_cast<Int64Mode>(code)) {
    case Int64Mode::kInt32:
    case Int64Mode::kFloat64:
      return static_cast<Int64Mode>(code);
    default:
      return Int64Mode::kBigInt;
  }
}

}  // namespace

Napi::Function PythonFunction::Define(Napi::Env env) {
  return DefineCallableClass<&PythonFunction::CallAsync>(env, "PythonFunction", "callAsync");
}

PythonFunction::PythonFunction(const Napi::CallbackInfo& info)
    : CallableObject<PythonFunction>(info, "PythonFunction") {
  DefineOwnMethod<&PythonFunction::Call>(info, "call");
}

Napi::Value PythonFunction::Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<PythonCallable> callable = Open(env);
  // The kept work and outcome, unless a getter run while reading the arguments called us again.
  std::unique_ptr<FunctionWork> own_work;
  std::unique_ptr<CallOutcome> own_outcome;
  FunctionWork* work = &work_;
  CallOutcome* outcome = &outcome_;
  if (busy_) {
    own_work = std::make_unique<FunctionWork>();
    own_outcome = std::make_unique<CallOutcome>();
    work = own_work.get();
    outcome = own_outcome.get();
  } else {
    busy_ = true;
  }
  struct Done {
    PythonFunction* self;
    FunctionWork* work;
    CallOutcome* outcome;
    ~Done() {
      work->Clear();
      outcome->Clear();
      if (work == &self->work_) self->busy_ = false;
    }
  } done{this, work, outcome};
  ArgumentsToPlain(env, info[0], info[1], work->args());
  CheckStillOpen(env, *callable);
  work->set_int64_mode(Int64ModeOf(info[2]));
  return RunOnJsThread(env, callable->func(), work, outcome);
}

Napi::Value PythonFunction::CallAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // A getter may close() this object while the arguments are read; the job then finds it
  // closed and rejects with ClosedError.
  const std::shared_ptr<PythonCallable> callable = Open(env);
  auto work = std::make_unique<FunctionWork>();
  // Pinned now, on the JS thread: from here each array's memory lives until Python lets go of
  // it, whatever JS does to it (collect, detach, transfer, abort).
  ArgumentsToPlain(env, info[0], info[1], work->args());
  work->set_int64_mode(Int64ModeOf(info[2]));
  return StartAsyncCall(env, callable, std::move(work), info[3].ToBoolean().Value());
}

}  // namespace py_outliers
