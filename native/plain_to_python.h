// A call's arguments, from a PlainTree (js_to_plain.h's shape) to Python objects, and the
// call itself. GIL held throughout.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <vector>

#include "numpy_view.h"
#include "plain_value.h"
#include "py_ref.h"

namespace py_outliers {

class PythonCall {
 public:
  // Builds the arguments; every array becomes a read-only view of its memory (numpy_view.h),
  // taking over its pin. False with a Python exception set on failure.
  bool Build(PlainTree* tree);
  // func(*args, **kwargs) through vectorcall: a new reference, or null with an exception set.
  PyObject* Call(PyObject* func) const;

  // Drops the arguments. A view Python still holds (or anything made from it) that was built
  // without a pin is pinned now: `pin_js_array(js_index)` pins that JS array (a sync call).
  template <typename PinJsArray>
  void ReleaseAndPinIfKept(PinJsArray&& pin_js_array) {
    values_.clear();
    kwnames_.Reset();
    for (size_t i = 0; i < views_.size(); i++) {
      const int64_t js_index = view_js_index_[i];
      views_[i].ReleaseAndPinIfKept([&] { return pin_js_array(js_index); });
    }
    views_.clear();
  }

 private:
  PyRef Value(PlainTree* tree, size_t* at);

  std::vector<PyRef> values_;  // the positional arguments, then the keyword arguments' values
  size_t positional_ = 0;
  PyRef kwnames_;  // a tuple of the keywords, or null
  std::vector<InputView> views_;
  std::vector<int64_t> view_js_index_;
};

}  // namespace py_outliers
