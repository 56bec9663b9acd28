// One call of the detection function, shared by the sync path (JS thread) and the async path
// (Python thread): view in, call, validate, indices out. GIL held throughout.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string>

#include "buffer_pin.h"
#include "numpy_view.h"
#include "py_ref.h"
#include "python_error.h"

namespace py_outliers {

struct DetectOutcome {
  ResultStatus status = ResultStatus::kOk;
  PythonErrorInfo python_error;  // kPythonError; with kInvalid, what reading the result raised
  std::string why;               // kInvalid
};

// Calls `func(view)` on data[0..length) and writes the indices to `allocate(count)`, which
// returns where count int32 values go. `pin` pins the memory up front (async); if it is
// empty, `pin_if_kept()` is called only when Python kept the view (sync). length > 0.
template <typename PinIfKept, typename Allocate>
DetectOutcome CallDetect(PyObject* func, const double* data, size_t length, BufferPin pin,
                         PinIfKept&& pin_if_kept, Allocate&& allocate) {
  DetectOutcome outcome;
  auto python_failed = [&outcome] {
    outcome.status = ResultStatus::kPythonError;
    outcome.python_error = TakePythonError();
    return outcome;
  };
  InputView view;
  if (!view.Create(data, length, std::move(pin))) return python_failed();
  PyRef result = PyRef::Steal(PyObject_CallOneArg(func, view.array()));
  view.ReleaseAndPinIfKept(pin_if_kept);
  if (!result) return python_failed();

  IndexResult indices;
  outcome.status = indices.Check(result.get(), length, &outcome.why);
  if (outcome.status == ResultStatus::kPythonError) {
    // Reading the result ran Python code that raised (a __len__ or __index__ of its own, out
    // of memory): the result is what was wrong, and the exception is why.
    outcome.python_error = TakePythonError();
    outcome.status = ResultStatus::kInvalid;
    outcome.why = "could not be read as indices: " + outcome.python_error.type + ": " +
                  outcome.python_error.message;
    return outcome;
  }
  if (outcome.status == ResultStatus::kInvalid) return outcome;
  if (!indices.CopyTo(allocate(indices.size()), length, &outcome.why)) {
    outcome.status = ResultStatus::kInvalid;
  }
  return outcome;
}

}  // namespace py_outliers
