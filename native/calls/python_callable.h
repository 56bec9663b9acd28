// The Python function behind one Outliers or PythonFunction object, shared with that object's
// async calls.
//
// Shared (std::shared_ptr<PythonCallable>) because an async call in flight must keep the
// function alive after close() or after the JS object is collected; the last owner may let go
// on a thread without the GIL, so the reference is a KeptPyObject.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "runtime/kept_py_object.h"

namespace py_outliers {

class PythonCallable {
 public:
  // Takes over a new reference. `closed_message` is the ClosedError's text after close().
  PythonCallable(PyObject* func, std::string closed_message)
      : func_(func), closed_message_(std::move(closed_message)) {}
  PythonCallable(const PythonCallable&) = delete;
  PythonCallable& operator=(const PythonCallable&) = delete;

  PyObject* func() const { return func_.get(); }  // borrowed; GIL held to use it
  // close(): calls not yet started are refused; a call running now finishes.
  void Close() { closed_.store(true, std::memory_order_release); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  const std::string& closed_message() const { return closed_message_; }

 private:
  const KeptPyObject func_;
  const std::string closed_message_;
  std::atomic<bool> closed_{false};
};

// JS thread: imports `module_name` (after prepending `paths` to sys.path) and finds
// `func_name` in it, as python/py_outliers_runtime.py's load() does. Throws PythonError if the
// import or lookup fails, TypeError if the attribute is not callable.
std::shared_ptr<PythonCallable> LoadPythonCallable(Napi::Env env, const std::string& module_name,
                                                   const std::string& func_name, Napi::Array paths,
                                                   std::string closed_message);

}  // namespace py_outliers
