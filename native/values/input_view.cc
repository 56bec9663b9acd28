#include "values/input_view.h"

#include <limits>
#include <new>

#include "values/numpy_api.h"

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

}  // namespace

bool CreatePinType() {
  pin_type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&kPinSpec));
  return pin_type != nullptr;
}

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

}  // namespace py_outliers
