// The Python function behind one Outliers object, shared with that object's async calls.
//
// Shared (std::shared_ptr<Detector>) because an async call in flight must keep the function
// alive after close() or after the JS object is collected; the last owner may let go on a
// thread without the GIL, so the reference is released through ReleaseWhenGilHeld.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <atomic>

#include "deferred_release.h"

namespace py_outliers {

class Detector {
 public:
  explicit Detector(PyObject* func) : func_(func) {}  // takes over a new reference
  ~Detector() { ReleaseWhenGilHeld(func_); }
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  PyObject* func() const { return func_; }  // borrowed; GIL held to use it
  // close(): calls not yet started are refused; a call running now finishes.
  void Close() { closed_.store(true, std::memory_order_release); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  PyObject* const func_;
  std::atomic<bool> closed_{false};
};

}  // namespace py_outliers
