// A call's result, from Python objects to a PlainTree (plain_value.h). GIL held.
//
// The mapping (README, "Values between JS and Python"): a numeric ndarray becomes the typed
// array of its dtype (1-D) or `{ data, shape }`; a 0-d array or numpy scalar, and a float or
// int, a number (an int beyond 2^53 a bigint, or a ResultError in the number modes); bool,
// str, None, list/tuple and dict with string keys boolean, string, null, Array and object.
// Anything else is refused with the Python type and where in the result it was.
//
// Arrays are not copied where that is safe: an exact ndarray that owns its memory, that
// nothing else in Python references, and that is at least kHandOffMinBytes is handed to JS
// as is (plain_to_js.h makes an external ArrayBuffer over it, which keeps it alive). Any
// other array is copied once, here, under the GIL, since Python code could write it later.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string>

#include "runtime/python_error.h"
#include "values/plain_value.h"
#include "values/result_status.h"

namespace py_outliers {

// Below this, a copy into V8's own memory is cheaper than an external buffer and its
// finalizer (bench: "results out").
constexpr size_t kHandOffMinBytes = 64 * 1024;

// Whether results may be handed off at all (tests and the bench turn it off to compare).
void SetResultHandOff(bool enabled);

// kOk, with `tree` filled; or kInvalid with `*why` (where, and what was wrong), and where
// Python code the conversion ran raised (or memory ran out), that exception in `*cause`, taken
// and cleared.
ResultStatus ResultToPlain(PyObject* result, Int64Mode mode, PlainTree* tree, std::string* why,
                           PythonErrorInfo* cause);

}  // namespace py_outliers
