// A value on its way between JS and Python, as plain C++ data that any thread may hold.
//
// An async call must not touch the GIL on the JS thread, nor JS values on a Python thread, so
// arguments and results cross as a PlainTree: the JS thread makes one from the arguments
// (js_to_plain.h), a Python thread makes Python objects from it (plain_to_python.h), the
// result takes the same road back (python_to_plain.h, plain_to_js.h). The sync call takes the
// same road, so the rules are one. Arrays are never serialised: an argument array is its JS
// memory, pinned; a result array is the ndarray itself (handed to JS) or one copy of it.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <node_api.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "runtime/kept_py_object.h"
#include "values/big_int.h"
#include "values/buffer_pin.h"
#include "values/plain_text.h"

namespace py_outliers {

// The typed array kinds, as Node-API numbers them. Float16Array exists where the Node line's
// headers have it (Node 26 and later).
#ifdef NODE_API_HAS_FLOAT16_ARRAY
constexpr bool kHasFloat16Array = true;
constexpr napi_typedarray_type kFloat16Array = napi_float16_array;
#else
constexpr bool kHasFloat16Array = false;
constexpr napi_typedarray_type kFloat16Array = static_cast<napi_typedarray_type>(-1);
#endif

// The most dimensions an array may have either way (numpy 1.x's limit).
constexpr int kMaxDims = 32;
// The deepest nesting either way: deeper is refused, which also catches a value that holds
// itself.
constexpr int kMaxDepth = 200;

size_t ElementSize(napi_typedarray_type type);

// Whether dimensions dims[0..ndim) fit `length` elements of `element_size` bytes. numpy's own
// limit holds even with a zero among them: the product of the non-zero dimensions times the
// element size must stay within 2^63-1 (np.empty((0, 2**40, 2**40)) is "too big"), so such a
// shape is refused here, as ndarray() refuses it (docs/values.md, "Arrays in: views, pinned as they
// are read").
enum class ShapeFit { kFits, kTooBig, kWrongLength };
ShapeFit FitShape(const int64_t* dims, size_t ndim, size_t element_size, size_t length);

// Memory from malloc, freed with free (so it can back an external ArrayBuffer).
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using MallocBuffer = std::unique_ptr<uint8_t, FreeDeleter>;

struct PlainArray {
  napi_typedarray_type type = napi_float64_array;
  std::vector<int64_t> shape;  // the array's dimensions
  bool nd = false;             // JS side: { data, shape } (else the bare typed array)
  const void* data = nullptr;  // shape's product times ElementSize(type) bytes
  size_t byte_length = 0;
  // Who owns `data`, one of:
  BufferPin pin;       // an argument: the JS memory
  KeptPyObject owner;  // a result handed off: the ndarray, nothing else in Python sees it
  MallocBuffer copy;   // a result copied out of Python
};

// Pre-order: a kList node is followed by `count` values, a kDict node by `count` pairs of
// (kString key, value).
struct PlainNode {
  enum class Kind : uint8_t { kNone, kBool, kFloat, kInt, kBigInt, kString, kList, kDict, kArray };
  Kind kind = Kind::kNone;
  bool boolean = false;
  double number = 0;
  int64_t integer = 0;  // kInt
  size_t index = 0;     // kString, kBigInt, kArray: into PlainTree's table; kList, kDict: count
};

struct PlainTree {
  std::vector<PlainNode> nodes;
  std::vector<PlainString> strings;
  std::vector<PlainBigInt> bigints;
  std::vector<PlainArray> arrays;

  // Empties it, keeping the capacity (a sync call's tree is reused). Pins and owners still
  // held are released.
  void Clear() {
    nodes.clear();
    strings.clear();
    bigints.clear();
    arrays.clear();
  }
};

// How int64 and uint64 results reach JS (PythonFunction's `int64` option). The addon exports
// the numbering as int64Modes (addon/addon.cc), and the TS layer passes a mode by it.
enum class Int64Mode : int32_t {
  kBigInt = 0,   // BigInt64Array / BigUint64Array; a Python int beyond 2^53 is a bigint
  kInt32 = 1,    // Int32Array, each value checked to fit; beyond 2^53 is a ResultError
  kFloat64 = 2,  // Float64Array, each value checked to be exact (|v| <= 2^53); the same
};

// Number.MAX_SAFE_INTEGER: the largest integer a JS number holds exactly, and with it all those
// below (2^53 - 1).
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

}  // namespace py_outliers
