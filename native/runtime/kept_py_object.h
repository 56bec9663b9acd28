// A Python object kept alive by an owner that may let go on a thread without the GIL (the JS
// thread, when an external ArrayBuffer is collected or a callable closed): the reference goes
// through ReleaseWhenGilHeld (deferred_release.h). With the GIL held, PyRef (py_ref.h) is the
// owner to use.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "runtime/deferred_release.h"

namespace py_outliers {

class KeptPyObject {
 public:
  KeptPyObject() = default;
  explicit KeptPyObject(PyObject* obj) : obj_(obj) {}  // takes over a new reference
  ~KeptPyObject() { ReleaseWhenGilHeld(obj_); }
  KeptPyObject(KeptPyObject&& other) noexcept : obj_(other.Release()) {}
  KeptPyObject& operator=(KeptPyObject&& other) noexcept {
    if (this != &other) {
      ReleaseWhenGilHeld(obj_);
      obj_ = other.Release();
    }
    return *this;
  }
  KeptPyObject(const KeptPyObject&) = delete;
  KeptPyObject& operator=(const KeptPyObject&) = delete;

  PyObject* get() const { return obj_; }  // borrowed; GIL held to use it
  explicit operator bool() const { return obj_ != nullptr; }
  PyObject* Release() {
    PyObject* obj = obj_;
    obj_ = nullptr;
    return obj;
  }

 private:
  PyObject* obj_ = nullptr;
};

}  // namespace py_outliers
