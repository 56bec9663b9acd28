// A call's arguments, from a PlainTree (js_to_plain.h's shape) to Python objects, and the
// call itself. GIL held throughout.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <vector>

#include "runtime/py_ref.h"
#include "values/plain_value.h"

namespace py_outliers {

class PythonCall {
 public:
  // Builds the arguments; every array becomes a read-only view of its memory (input_view.h),
  // taking over its pin. False with a Python exception set on failure.
  bool Build(PlainTree* tree);
  // func(*args, **kwargs) through vectorcall: a new reference, or null with an exception set.
  PyObject* Call(PyObject* func) const;

  // Drops our references to the arguments; a view Python kept keeps its pin.
  void Release() {
    values_.clear();
    kwnames_.Reset();
  }

 private:
  PyRef Value(PlainTree* tree, size_t* at);

  std::vector<PyRef> values_;  // the positional arguments, then the keyword arguments' values
  size_t positional_ = 0;
  PyRef kwnames_;  // a tuple of the keywords, or null
};

}  // namespace py_outliers
