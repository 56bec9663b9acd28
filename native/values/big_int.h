// Integers beyond int64 between Python and the 64-bit words JS's BigInt is made of.
//
// Both ways in linear time, from the integer's own digits: CPython's byte-array conversions, not
// shifts and masks (each shift copies the whole number: quadratic, seconds for a 2^22-bit value,
// and impossible to abort), and no method of an int subclass is called (a hostile __abs__ or
// __rshift__ cannot loop or change anything; docs/values.md, "Integers").
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <vector>

namespace py_outliers {

// An integer beyond int64: its magnitude as 64-bit words, least significant first.
struct PlainBigInt {
  bool negative = false;
  std::vector<uint64_t> words;
};

// GIL held; `value` passes PyLong_Check. False with an exception set (out of memory).
bool PythonIntToBigInt(PyObject* value, PlainBigInt* out);

// GIL held: a new int, or null with an exception set.
PyObject* BigIntToPythonInt(const PlainBigInt& big);

}  // namespace py_outliers
