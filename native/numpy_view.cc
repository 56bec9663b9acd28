#include "numpy_view.h"

// This file owns numpy's C-API table (numpy_api.h) and loads it.
#define PY_OUTLIERS_NUMPY_API_OWNER
#include "numpy_api.h"

// The headers the compiler found must be the build interpreter's own numpy (python_config.js
// reads its _numpyconfig.h): another numpy's headers on the include path (Debian puts a link
// to its python3-numpy headers inside Python's include dir) would compile against the wrong
// ABI and fail only at run time with "_ARRAY_API not found" (docs/architecture.md, "numpy
// headers").
static_assert(NPY_ABI_VERSION == PY_OUTLIERS_NUMPY_ABI_VERSION &&
                  NPY_API_VERSION == PY_OUTLIERS_NUMPY_API_VERSION,
              "py-outliers: the numpy headers on the include path are not those of the build "
              "interpreter's numpy; see native/python_config.js");

#include <limits>
#include <new>

namespace py_outliers {
namespace {

// ---- the base object: a Python object owning a BufferPin ----------------------------------

struct PinObject {
  PyObject_HEAD BufferPin pin;  // constructed and destroyed by hand: Python allocates the memory
};

void PinDealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  // Releasing the BackingStore is safe on whatever thread Python frees the view on.
  reinterpret_cast<PinObject*>(self)->pin.~BufferPin();
  type->tp_free(self);
  Py_DECREF(type);  // instances of heap types own a reference to their type
}

PyType_Slot kPinSlots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(PinDealloc)},
    {Py_tp_doc, const_cast<char*>("Keeps the memory of a JS typed array alive for numpy.")},
    {0, nullptr},
};
PyType_Spec kPinSpec = {
    "py_outliers.JsBufferPin", sizeof(PinObject), 0, Py_TPFLAGS_DEFAULT, kPinSlots,
};

PyTypeObject* pin_type = nullptr;  // created with the numpy import, lives for the process

std::string TypeName(PyObject* obj) { return Py_TYPE(obj)->tp_name; }

}  // namespace

bool ImportNumpyApi() {
  if (_import_array() < 0) return false;
  pin_type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&kPinSpec));
  return pin_type != nullptr;
}

// ---- input ---------------------------------------------------------------------------------

bool InputView::Create(const double* data, size_t length, BufferPin pin) {
  const int64_t dims[1] = {static_cast<int64_t>(length)};
  return Create(data, NPY_FLOAT64, 1, dims, std::move(pin));
}

bool InputView::Create(const void* data, int numpy_type, int ndim, const int64_t* dims,
                       BufferPin pin) {
  PyRef base = PyRef::Steal(PyType_GenericAlloc(pin_type, 0));
  if (!base) return false;
  new (&reinterpret_cast<PinObject*>(base.get())->pin) BufferPin(std::move(pin));

  // An empty typed array may have no memory at all; numpy would then allocate its own (and
  // refuse our base), so give it a valid address of nothing.
  alignas(16) static const char nothing[16] = {};
  if (data == nullptr) data = nothing;
  npy_intp shape[NPY_MAXDIMS];
  for (int i = 0; i < ndim; i++) shape[i] = static_cast<npy_intp>(dims[i]);
  // No NPY_ARRAY_WRITEABLE: Python must never write into the caller's memory, and
  // numpy refuses to make such a view writeable again because its base is not an ndarray.
  // A typed array's data is always aligned to its element size (its byteOffset must be a
  // multiple of it), so ALIGNED holds.
  PyRef array = PyRef::Steal(PyArray_New(&PyArray_Type, ndim, shape, numpy_type, nullptr,
                                         const_cast<void*>(data), 0,
                                         NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED, nullptr));
  if (!array) return false;
  Py_INCREF(base.get());  // SetBaseObject steals one; we keep ours to watch the count
  if (PyArray_SetBaseObject(reinterpret_cast<PyArrayObject*>(array.get()), base.get()) < 0) {
    return false;
  }
  array_ = std::move(array);
  base_ = std::move(base);
  return true;
}

bool InputView::HasPin() const { return !reinterpret_cast<PinObject*>(base_.get())->pin.empty(); }

void InputView::SetPin(BufferPin pin) {
  reinterpret_cast<PinObject*>(base_.get())->pin = std::move(pin);
}

// ---- output --------------------------------------------------------------------------------

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
