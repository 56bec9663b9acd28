// Detect's contract (call.h): `func(view)` on a read-only 1-D float64 view of the caller's
// memory, whose result must be valid indices into it (values/index_result.h), copied out as
// int32.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

#include "calls/call.h"
#include "values/buffer_pin.h"

namespace py_outliers {

// An async call's work: the memory is pinned up front, on the JS thread, and the indices are
// kept in a vector until the JS thread makes an Int32Array of them.
class DetectWork : public CallWork {
 public:
  // data[0..length) lies in the memory `pin` holds (empty only for the sync work). length > 0.
  DetectWork(const double* data, size_t length, BufferPin pin)
      : data_(data), length_(length), pin_(std::move(pin)) {}

  void Run(PyObject* func, CallOutcome* outcome) override;
  Napi::Value Result(Napi::Env env) override;

 protected:
  // Where `count` int32 indices go.
  virtual int32_t* Allocate(size_t count);
  // The memory's pin, asked for only if Python kept the view and no pin was given up front.
  virtual BufferPin PinIfKept() { return BufferPin(); }

 private:
  const double* data_;
  size_t length_;
  BufferPin pin_;  // moves into the view's base when the call starts
  std::vector<int32_t> indices_;
};

// The sync call's work, on the JS thread: pinned only if Python keeps the view (it almost
// never does, and pinning costs), and results that fit written straight into the object's
// scratch array (objects/outliers.h says why).
class SyncDetectWork final : public DetectWork {
 public:
  SyncDetectWork(Napi::Env env, Napi::TypedArray array, const double* data, size_t length,
                 int32_t* scratch, size_t scratch_capacity)
      : DetectWork(data, length, BufferPin()),
        env_(env),
        array_(array),
        scratch_(scratch),
        scratch_capacity_(scratch_capacity) {}

  // The number of indices written to the scratch array, or a new Int32Array of them.
  Napi::Value Result(Napi::Env env) override;

 protected:
  int32_t* Allocate(size_t count) override;
  BufferPin PinIfKept() override { return BufferPin::Of(array_); }

 private:
  Napi::Env env_;
  Napi::TypedArray array_;
  int32_t* scratch_;
  size_t scratch_capacity_;
  size_t count_ = 0;
  Napi::Int32Array own_;  // only for results that do not fit the scratch array
};

}  // namespace py_outliers
