#include "objects/outliers.h"

#include <limits>

#include "calls/detect_work.h"

namespace py_outliers {

Napi::Function Outliers::Define(Napi::Env env) {
  return DefineCallableClass<&Outliers::DetectAsync>(env, "Outliers", "detectAsync");
}

Outliers::Outliers(const Napi::CallbackInfo& info)
    : CallableObject<Outliers>(info, "Outliers detector") {
  Napi::Int32Array scratch = info[3].As<Napi::Int32Array>();
  scratch_pin_ = BufferPin::Of(scratch);
  scratch_ = scratch.Data();
  scratch_capacity_ = scratch.ElementLength();
  DefineOwnMethod<&Outliers::Detect>(info, "detect");
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

Napi::Value Outliers::Detect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputArray input = CheckInput(info);
  const std::shared_ptr<PythonCallable> callable = Open(env);
  if (input.length == 0) return Napi::Number::New(env, 0);
  SyncDetectWork work(env, input.array, input.data, input.length, scratch_, scratch_capacity_);
  CallOutcome outcome;
  return RunOnJsThread(env, callable->func(), &work, &outcome);
}

Napi::Value Outliers::DetectAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  InputArray input = CheckInput(info);
  const std::shared_ptr<PythonCallable> callable = Open(env);
  const bool with_id = info.Length() > 1 && info[1].ToBoolean().Value();
  if (input.length == 0) return SettledAsyncCall(env, Napi::Int32Array::New(env, 0), with_id);
  // Pinned now, on the JS thread: from here the memory lives until Python lets go of it,
  // whatever JS does to the array (collect, detach, transfer, abort).
  return StartAsyncCall(
      env, callable,
      std::make_unique<DetectWork>(input.data, input.length, BufferPin::Of(input.array)), with_id);
}

}  // namespace py_outliers
