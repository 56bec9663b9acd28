// The two crossings between JS memory and numpy: the input view and the returned indices.
//
// Input: a read-only ndarray over the caller's typed array memory (zero copy). Its base is a
// small Python object that owns a BufferPin, so the JS memory stays alive for as long as any
// Python object can reach the array (docs/architecture.md, "The input view").
// Output: whatever the function returned, checked to be a 1-D integer array or sequence whose
// every element is a valid index, then narrowed into int32 memory the caller provides
// (docs/architecture.md, "Results").
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string>

#include "buffer_pin.h"
#include "py_ref.h"

namespace py_outliers {

// Loads numpy's C-API table. GIL held; false with a Python exception set on failure.
bool ImportNumpyApi();

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

// What a validation of the returned value found.
enum class ResultStatus { kOk, kPythonError, kInvalid };

class IndexResult {
 public:
  // GIL held. Checks `result` against an input of `input_length` values. kPythonError leaves
  // a Python exception set (e.g. an __array__ that raises); kInvalid fills `*why`.
  ResultStatus Check(PyObject* result, size_t input_length, std::string* why);
  size_t size() const { return size_; }
  // GIL held. Narrows the indices into dst[0..size()). False, with `*why`, if an index lies
  // outside [0, input_length); dst is then partly written.
  bool CopyTo(int32_t* dst, size_t input_length, std::string* why) const;

 private:
  PyRef indices_;  // a C-contiguous 1-D int64 array, or null when empty
  size_t size_ = 0;
};

}  // namespace py_outliers
