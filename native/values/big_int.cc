#include "values/big_int.h"

#include <cstring>

#include "runtime/py_ref.h"

namespace py_outliers {
namespace {

// The words as little-endian bytes, whatever this machine's order (CPython's byte-array
// functions take an explicit order; JS's words are native 64-bit integers).
void WordsToBytes(const std::vector<uint64_t>& words, std::vector<unsigned char>* bytes) {
  bytes->resize(words.size() * 8);
  for (size_t i = 0; i < words.size(); i++) {
    for (int b = 0; b < 8; b++)
      (*bytes)[i * 8 + b] = static_cast<unsigned char>(words[i] >> (8 * b));
  }
}

}  // namespace

bool PythonIntToBigInt(PyObject* value, PlainBigInt* out) {
  // Two's complement, little-endian, in whole words with room for the sign bit.
#if PY_VERSION_HEX >= 0x030D0000
  // 3.13's public API: the first call says how many bytes the value needs.
  const Py_ssize_t needed = PyLong_AsNativeBytes(value, nullptr, 0, Py_ASNATIVEBYTES_LITTLE_ENDIAN);
  if (needed < 0) return false;
  const size_t words = static_cast<size_t>(needed) / 8 + 1;
  std::vector<unsigned char> bytes(words * 8);
  if (PyLong_AsNativeBytes(value, bytes.data(), static_cast<Py_ssize_t>(bytes.size()),
                           Py_ASNATIVEBYTES_LITTLE_ENDIAN) < 0) {
    return false;
  }
#else
  const size_t bits = _PyLong_NumBits(value);  // of the magnitude
  if (bits == static_cast<size_t>(-1) && PyErr_Occurred()) return false;
  const size_t words = bits / 64 + 1;
  std::vector<unsigned char> bytes(words * 8);
  if (_PyLong_AsByteArray(reinterpret_cast<PyLongObject*>(value), bytes.data(), bytes.size(),
                          /*little_endian=*/1, /*is_signed=*/1) < 0) {
    return false;
  }
#endif
  out->words.assign(words, 0);
  for (size_t i = 0; i < words; i++) {
    for (int b = 0; b < 8; b++) out->words[i] |= static_cast<uint64_t>(bytes[i * 8 + b]) << (8 * b);
  }
  out->negative = (bytes.back() & 0x80) != 0;
  if (out->negative) {  // the magnitude: invert and add one
    bool carry = true;
    for (uint64_t& word : out->words) {
      word = ~word + (carry ? 1 : 0);
      carry = carry && word == 0;
    }
  }
  while (!out->words.empty() && out->words.back() == 0) out->words.pop_back();
  return true;
}

PyObject* BigIntToPythonInt(const PlainBigInt& big) {
  std::vector<unsigned char> bytes;
  WordsToBytes(big.words, &bytes);
#if PY_VERSION_HEX >= 0x030D0000
  PyRef magnitude = PyRef::Steal(
      PyLong_FromUnsignedNativeBytes(bytes.data(), bytes.size(), Py_ASNATIVEBYTES_LITTLE_ENDIAN));
#else
  PyRef magnitude = PyRef::Steal(_PyLong_FromByteArray(bytes.data(), bytes.size(),
                                                       /*little_endian=*/1, /*is_signed=*/0));
#endif
  if (!magnitude || !big.negative) return magnitude.Release();
  return PyNumber_Negative(magnitude.get());
}

}  // namespace py_outliers
