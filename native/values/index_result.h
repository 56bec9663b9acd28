// Detect's result: whatever the function returned, checked to be a 1-D integer array or
// sequence whose every element is a valid index, then narrowed into int32 memory the caller
// provides (docs/architecture.md, "Results").
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string>

#include "runtime/py_ref.h"
#include "values/result_status.h"

namespace py_outliers {

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
