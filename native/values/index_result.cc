#include "values/index_result.h"

#include "values/numpy_api.h"

namespace py_outliers {
namespace {

std::string TypeName(PyObject* obj) { return Py_TYPE(obj)->tp_name; }

}  // namespace

ResultStatus IndexResult::Check(PyObject* result, size_t input_length, std::string* why) {
  const bool was_array = PyArray_Check(result);
  // A sequence longer than the input cannot be valid; refuse it before numpy turns it into an
  // array, so that a hostile result (range(10**12)) cannot make us allocate without bound.
  if (!was_array) {
    const Py_ssize_t size = PyObject_Size(result);
    if (size < 0) {
      PyErr_Clear();  // no len(): numpy decides what it is
    } else if (static_cast<size_t>(size) > input_length) {
      *why = "returned " + std::to_string(size) + " indices for " + std::to_string(input_length) +
             " input values";
      return ResultStatus::kInvalid;
    }
  }
  PyRef any = was_array ? PyRef::Borrow(result)
                        : PyRef::Steal(PyArray_FromAny(result, nullptr, 0, 0, 0, nullptr));
  if (!any) return ResultStatus::kPythonError;
  auto* array = reinterpret_cast<PyArrayObject*>(any.get());

  const int ndim = PyArray_NDIM(array);
  const int type_num = PyArray_TYPE(array);
  const npy_intp size = PyArray_SIZE(array);
  if (ndim != 1) {
    *why = "expected a 1-D integer array or sequence of ints, got " + TypeName(result) +
           " (as an array: " + std::to_string(ndim) + "-D)";
    return ResultStatus::kInvalid;
  }
  // `[]` or `()` becomes a float64 array in numpy; an empty sequence means "no outliers",
  // and so does an empty integer array.
  if (size == 0 && (!was_array || PyTypeNum_ISINTEGER(type_num))) {
    indices_.Reset();
    size_ = 0;
    return ResultStatus::kOk;
  }
  if (type_num == NPY_BOOL) {
    *why = "got a boolean array; return indices (np.flatnonzero(mask)), not a mask";
    return ResultStatus::kInvalid;
  }
  if (!PyTypeNum_ISINTEGER(type_num)) {
    PyRef dtype = PyRef::Steal(PyObject_Str(reinterpret_cast<PyObject*>(PyArray_DESCR(array))));
    const char* name = dtype ? PyUnicode_AsUTF8(dtype.get()) : nullptr;
    if (name == nullptr) PyErr_Clear();
    *why = "expected integer indices, got " + TypeName(result) + " of dtype " + (name ? name : "?");
    return ResultStatus::kInvalid;
  }
  if (static_cast<size_t>(size) > input_length) {
    *why = "returned " + std::to_string(size) + " indices for " + std::to_string(input_length) +
           " input values";
    return ResultStatus::kInvalid;
  }
  // One layout for the copy: contiguous int64, which the usual np.where result already is.
  if (type_num == NPY_INT64 && PyArray_ISCARRAY_RO(array)) {
    indices_ = std::move(any);
    size_ = static_cast<size_t>(size);
    return ResultStatus::kOk;
  }
  // FORCECAST because uint64 -> int64 is not a "safe" cast; values >= 2^63 wrap to negative
  // and are refused by the range check, as they are out of range anyway.
  PyRef int64s = PyRef::Steal(PyArray_FromArray(array, PyArray_DescrFromType(NPY_INT64),
                                                NPY_ARRAY_CARRAY_RO | NPY_ARRAY_FORCECAST));
  if (!int64s) return ResultStatus::kPythonError;
  indices_ = std::move(int64s);
  size_ = static_cast<size_t>(size);
  return ResultStatus::kOk;
}

bool IndexResult::CopyTo(int32_t* dst, size_t input_length, std::string* why) const {
  if (size_ == 0) return true;
  const auto* src =
      static_cast<const int64_t*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(indices_.get())));
  // input_length <= 2^31-1 is checked before the call, so in-range values fit in int32.
  const auto limit = static_cast<uint64_t>(input_length);
  for (size_t i = 0; i < size_; i++) {
    const int64_t index = src[i];
    // One unsigned comparison covers both ends: a negative index becomes huge.
    if (static_cast<uint64_t>(index) >= limit) {
      *why = "index " + std::to_string(index) + " at position " + std::to_string(i) +
             " is outside [0, " + std::to_string(input_length) + ")";
      return false;
    }
    dst[i] = static_cast<int32_t>(index);
  }
  return true;
}

}  // namespace py_outliers
