// The input view: a read-only ndarray over the caller's typed array memory (zero copy). Its
// base is a small Python object that owns a BufferPin, so the JS memory stays alive for as long
// as any Python object can reach the array (docs/architecture.md, "The input view").
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>

#include "runtime/py_ref.h"
#include "values/buffer_pin.h"

namespace py_outliers {

// Creates the base objects' Python type; numpy_api.cc calls it once numpy is imported. GIL
// held; false with a Python exception set on failure.
bool CreatePinType();

class InputView {
 public:
  // GIL held. A read-only, C-contiguous view of `data` with numpy type number `numpy_type`
  // and shape dims[0..ndim). `pin` may be empty when the caller keeps the memory alive for the
  // duration of the call and pins later (PinIfKept). Returns false with a Python exception
  // set on failure.
  bool Create(const void* data, int numpy_type, int ndim, const int64_t* dims, BufferPin pin);
  // The same for detect's input: a 1-D float64 view of data[0..length).
  bool Create(const double* data, size_t length, BufferPin pin);
  PyObject* array() const { return array_.get(); }

  // GIL held. Drops the view. If Python still holds it, or anything made from it (a slice, a
  // memoryview), and no pin was given at creation, `make_pin()` pins the JS memory now. Lazy
  // because pinning costs and Python almost never keeps its input.
  template <typename MakePin>
  void ReleaseAndPinIfKept(MakePin&& make_pin) {
    array_.Reset();
    if (base_ && Py_REFCNT(base_.get()) > 1 && !HasPin()) SetPin(make_pin());
    base_.Reset();
  }

 private:
  bool HasPin() const;
  void SetPin(BufferPin pin);

  PyRef array_;
  PyRef base_;  // our own reference to the array's base, to see whether anything else has one
};

}  // namespace py_outliers
