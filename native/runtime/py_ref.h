// Owning reference to a Python object.
//
// Every PyObject* this addon owns lives in a PyRef, so no path (early return, C++ exception)
// can leak or double-free a reference. Destroying or resetting a PyRef calls Py_XDECREF and
// therefore must happen with the GIL held (gil.h). An object whose last owner may die on a
// thread without the GIL (a JS finalizer, close() while an async call runs) is kept in a
// KeptPyObject instead (kept_py_object.h).
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace py_outliers {

class PyRef {
 public:
  PyRef() = default;
  ~PyRef() { Py_XDECREF(obj_); }

  // Takes over a new reference (what most C-API calls return). nullptr is allowed.
  static PyRef Steal(PyObject* obj) { return PyRef(obj); }
  // Adds a reference to a borrowed object.
  static PyRef Borrow(PyObject* obj) {
    Py_XINCREF(obj);
    return PyRef(obj);
  }

  PyRef(PyRef&& other) noexcept : obj_(other.Release()) {}
  PyRef& operator=(PyRef&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;

  PyObject* get() const { return obj_; }
  explicit operator bool() const { return obj_ != nullptr; }

  // Gives the reference away, to a C-API call that steals it.
  PyObject* Release() {
    PyObject* obj = obj_;
    obj_ = nullptr;
    return obj;
  }

  void Reset(PyObject* obj = nullptr) {
    PyObject* old = obj_;
    obj_ = obj;
    Py_XDECREF(old);  // after the swap: a __del__ run by the decref sees a consistent PyRef
  }

 private:
  explicit PyRef(PyObject* obj) : obj_(obj) {}
  PyObject* obj_ = nullptr;
};

}  // namespace py_outliers
