#include "calls/detect_work.h"

#include <algorithm>

#include "runtime/py_ref.h"
#include "values/index_result.h"
#include "values/input_view.h"

namespace py_outliers {

void DetectWork::Run(PyObject* func, CallOutcome* outcome) {
  InputView view;
  if (!view.Create(data_, length_, std::move(pin_))) return outcome->Raised();
  PyRef result = PyRef::Steal(PyObject_CallOneArg(func, view.array()));
  view.ReleaseAndPinIfKept([this] { return PinIfKept(); });
  if (!result) return outcome->Raised();

  IndexResult indices;
  outcome->status = indices.Check(result.get(), length_, &outcome->why);
  if (outcome->status == ResultStatus::kPythonError) {
    return outcome->ReadFailed("could not be read as indices: ");
  }
  if (outcome->status == ResultStatus::kInvalid) return;
  if (!indices.CopyTo(Allocate(indices.size()), length_, &outcome->why)) {
    outcome->status = ResultStatus::kInvalid;
  }
}

int32_t* DetectWork::Allocate(size_t count) {
  indices_.resize(count);
  return indices_.data();
}

// Copied into a V8-allocated Int32Array on the JS thread (docs/architecture.md, "Results").
Napi::Value DetectWork::Result(Napi::Env env) {
  Napi::Int32Array out = Napi::Int32Array::New(env, indices_.size());
  std::copy(indices_.begin(), indices_.end(), out.Data());
  return out;
}

int32_t* SyncDetectWork::Allocate(size_t count) {
  count_ = count;
  if (count <= scratch_capacity_) return scratch_;
  own_ = Napi::Int32Array::New(env_, count);
  return own_.Data();
}

Napi::Value SyncDetectWork::Result(Napi::Env env) {
  if (!own_.IsEmpty()) return own_;
  return Napi::Number::New(env, static_cast<double>(count_));
}

}  // namespace py_outliers
