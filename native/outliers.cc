#include "outliers.h"

#include <limits>

#include "async_call.h"
#include "detect_async.h"
#include "detect_call.h"
#include "gil.h"
#include "python_runtime.h"

namespace py_outliers {

Napi::Function Outliers::Define(Napi::Env env) {
  // detect is not a prototype method: each object gets its own (see the constructor).
  return DefineClass(env, "Outliers",
                     {
                         InstanceMethod<&Outliers::DetectAsync>("detectAsync"),
                         InstanceMethod<&Outliers::Close>("close"),
                     });
}

Outliers::Outliers(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Outliers>(info) {
  Napi::Env env = info.Env();
  const std::string module_name = info[0].As<Napi::String>().Utf8Value();
  const std::string func_name = info[1].As<Napi::String>().Utf8Value();
  Napi::Array paths = info[2].As<Napi::Array>();
  Napi::Int32Array scratch = info[3].As<Napi::Int32Array>();
  scratch_pin_ = BufferPin::Of(scratch);
  scratch_ = scratch.Data();
  scratch_capacity_ = scratch.ElementLength();

  callable_ =
      LoadPythonCallable(env, module_name, func_name, paths, "the Outliers detector is closed");

  // detect() is the hot path. A prototype method must find its C++ object with napi_unwrap
  // (~800 instructions, a fifth of the call's native cost); a function of this object's own,
  // created with `this` as its data, gets it from napi_get_cb_info for free. The TS layer only
  // calls it as native.detect(values), so the JS object, which owns `this`, is alive
  // throughout the call.
  info.This().As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(
      "detect", Napi::Function::New<DetectTrampoline>(env, "detect", this), napi_default));
}

Napi::Value Outliers::DetectTrampoline(const Napi::CallbackInfo& info) {
  return static_cast<Outliers*>(info.Data())->Detect(info);
}

namespace {

struct InputArray {
  Napi::TypedArray array;
  const double* data;
  size_t length;
};

// The TS layer validates too; this keeps the native surface safe if called directly. One
// napi_get_typedarray_info call gives everything: this runs on every detect.
InputArray CheckInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_value value = info.Length() > 0 ? static_cast<napi_value>(info[0]) : nullptr;
  bool is_typed_array = false;
  if (value != nullptr) napi_is_typedarray(env, value, &is_typed_array);
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (!is_typed_array ||
      napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array) {
    throw Napi::TypeError::New(env, "values must be a Float64Array");
  }
  // A detached buffer shows as length 0, so only an empty array needs the (costly) check.
  if (length == 0) {
    napi_value buffer = nullptr;
    bool detached = false;
    napi_get_typedarray_info(env, value, nullptr, nullptr, nullptr, &buffer, nullptr);
    napi_is_detached_arraybuffer(env, buffer, &detached);
    if (detached) throw Napi::TypeError::New(env, "values' ArrayBuffer is detached");
  }
  // Indices travel back as int32 (docs/architecture.md, "Results").
  if (length > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw Napi::RangeError::New(env, "values has more than 2^31-1 elements");
  }
  // `data` already includes byteOffset (docs/architecture.md, "The input view"): no offset
  // arithmetic here.
  return {Napi::TypedArray(env, value), static_cast<const double*>(data), length};
}

}  // namespace

// Returns the number of indices written to the scratch buffer, or, for a result larger than
// it, a new Int32Array.
Napi::Value Outliers::Detect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputArray input = CheckInput(info);
  if (!callable_) throw MakeClosedError(env, "the Outliers detector is closed");
  if (input.length == 0) return Napi::Number::New(env, 0);

  Napi::Int32Array own;  // only for results that do not fit the scratch buffer
  size_t count = 0;
  DetectOutcome outcome;
  {
    GilHold hold;
    outcome = CallDetect(
        callable_->func(), input.data, input.length, BufferPin(),
        [&] { return BufferPin::Of(input.array); },
        [&](size_t n) {
          count = n;
          if (n <= scratch_capacity_) return scratch_;
          own = Napi::Int32Array::New(env, n);
          return own.Data();
        });
  }
  switch (outcome.status) {
    case ResultStatus::kOk:
      if (!own.IsEmpty()) return own;
      return Napi::Number::New(env, static_cast<double>(count));
    case ResultStatus::kPythonError:
      throw MakePythonError(env, outcome.python_error);
    case ResultStatus::kInvalid:
      break;
  }
  throw MakeResultError(env, outcome.why, outcome.python_error);
}

Napi::Value Outliers::DetectAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputArray input = CheckInput(info);
  if (!callable_) throw MakeClosedError(env, "the Outliers detector is closed");
  const bool with_id = info.Length() > 1 && info[1].ToBoolean().Value();
  if (input.length == 0) return SettledAsyncCall(env, Napi::Int32Array::New(env, 0), with_id);
  return StartDetectAsync(env, callable_, input.array, input.data, input.length, with_id);
}

void Outliers::Close(const Napi::CallbackInfo&) {
  // No GIL wait on the JS thread: the last reference is released by whoever next holds it,
  // and async calls already queued see the flag and are refused.
  if (!callable_) return;
  callable_->Close();
  callable_.reset();
}

}  // namespace py_outliers
