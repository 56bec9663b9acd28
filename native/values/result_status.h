// What reading a function's result found: a value, a Python exception raised while reading it
// (still set), or a result that breaks the rules (the reader says why).
#pragma once

namespace py_outliers {

enum class ResultStatus { kOk, kPythonError, kInvalid };

}  // namespace py_outliers
