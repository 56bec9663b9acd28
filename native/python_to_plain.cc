#include "python_to_plain.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "numpy_api.h"
#include "py_ref.h"

namespace py_outliers {
namespace {

std::atomic<bool> hand_off{true};

constexpr int64_t kMaxExact = 9007199254740992;  // 2^53: every integer up to it is a double

class ResultReader {
 public:
  ResultReader(Int64Mode mode, PlainTree* tree) : mode_(mode), tree_(tree) {}

  // `exclusive`: `obj`'s containers are each referenced once, from the one above (the top
  // one from the caller's reference); if `obj` is too, no other Python code can reach it.
  ResultStatus Value(PyObject* obj, int depth, bool exclusive) {
    if (depth > kMaxDepth) {
      return Invalid("nested deeper than " + std::to_string(kMaxDepth) +
                     " levels (does the result hold itself?)");
    }
    if (obj == Py_None) {
      Push({PlainNode::Kind::kNone});
      return ResultStatus::kOk;
    }
    if (PyBool_Check(obj)) {
      Push({PlainNode::Kind::kBool}).boolean = obj == Py_True;
      return ResultStatus::kOk;
    }
    if (PyLong_Check(obj)) return Int(obj);
    if (PyFloat_Check(obj)) {  // np.float64 too: it is a float
      Push({PlainNode::Kind::kFloat}).number = PyFloat_AS_DOUBLE(obj);
      return ResultStatus::kOk;
    }
    if (PyUnicode_Check(obj)) {
      Py_ssize_t size = 0;
      const char* utf8 = PyUnicode_AsUTF8AndSize(obj, &size);
      if (utf8 == nullptr) return ResultStatus::kPythonError;
      Push({PlainNode::Kind::kString}).index = tree_->strings.size();
      tree_->strings.emplace_back(utf8, static_cast<size_t>(size));
      return ResultStatus::kOk;
    }
    if (PyArray_Check(obj)) {
      auto* array = reinterpret_cast<PyArrayObject*>(obj);
      if (PyArray_NDIM(array) > 0) return Array(array, exclusive && Py_REFCNT(obj) == 1);
      // A 0-d array is its one value, as a Python scalar.
      PyRef item = PyRef::Steal(PyObject_CallMethod(obj, "item", nullptr));
      if (!item) return ResultStatus::kPythonError;
      return Value(item.get(), depth + 1, false);
    }
    if (PyArray_IsScalar(obj, Bool)) {
      Push({PlainNode::Kind::kBool}).boolean = PyObject_IsTrue(obj) == 1;
      return ResultStatus::kOk;
    }
    if (PyArray_IsScalar(obj, Integer)) {
      PyRef value = PyRef::Steal(PyNumber_Index(obj));
      if (!value) return ResultStatus::kPythonError;
      return Int(value.get());
    }
    if (PyArray_IsScalar(obj, Floating)) {
      const double value = PyFloat_AsDouble(obj);
      if (value == -1.0 && PyErr_Occurred()) return ResultStatus::kPythonError;
      Push({PlainNode::Kind::kFloat}).number = value;
      return ResultStatus::kOk;
    }
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
      const bool own = exclusive && Py_REFCNT(obj) == 1;
      const Py_ssize_t size = PySequence_Fast_GET_SIZE(obj);
      Push({PlainNode::Kind::kList}).index = static_cast<size_t>(size);
      PyObject** items = PySequence_Fast_ITEMS(obj);
      for (Py_ssize_t i = 0; i < size; i++) {
        const ResultStatus status = Value(items[i], depth + 1, own);
        if (status != ResultStatus::kOk) return Where(status, "[" + std::to_string(i) + "]");
      }
      return ResultStatus::kOk;
    }
    if (PyDict_Check(obj)) {
      const bool own = exclusive && Py_REFCNT(obj) == 1;
      Push({PlainNode::Kind::kDict}).index = static_cast<size_t>(PyDict_Size(obj));
      PyObject *key = nullptr, *item = nullptr;
      Py_ssize_t pos = 0;
      while (PyDict_Next(obj, &pos, &key, &item)) {
        if (!PyUnicode_Check(key)) {
          return Invalid("a dict with a key of type " + std::string(Py_TYPE(key)->tp_name) +
                         " (JS object keys are strings)");
        }
        Py_ssize_t size = 0;
        const char* utf8 = PyUnicode_AsUTF8AndSize(key, &size);
        if (utf8 == nullptr) return ResultStatus::kPythonError;
        std::string name(utf8, static_cast<size_t>(size));
        Push({PlainNode::Kind::kString}).index = tree_->strings.size();
        tree_->strings.push_back(name);
        const ResultStatus status = Value(item, depth + 1, own);
        if (status != ResultStatus::kOk) return Where(status, "['" + name + "']");
      }
      return ResultStatus::kOk;
    }
    return Invalid(std::string("a ") + Py_TYPE(obj)->tp_name + ", which has no JS counterpart");
  }

  // What was wrong, with where: "result[1]['peak_heights']: a set, ...".
  std::string Why() const {
    std::string where = "result";
    for (size_t i = where_.size(); i-- > 0;) {
      if (where.size() > 120) {
        where += "...";
        break;
      }
      where += where_[i];
    }
    return where + " is " + problem_;
  }

 private:
  ResultStatus Int(PyObject* obj) {
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (value == -1 && PyErr_Occurred()) return ResultStatus::kPythonError;
    const bool exact = overflow == 0 && value >= -kMaxExact && value <= kMaxExact;
    if (!exact && mode_ != Int64Mode::kBigInt) {
      return Invalid(
          "an int beyond 2^53, which a number cannot hold exactly (int64: 'bigint' "
          "gives a bigint)");
    }
    if (overflow == 0) {
      Push({PlainNode::Kind::kInt}).integer = value;
      return ResultStatus::kOk;
    }
    // Beyond int64: its magnitude, 64 bits at a time.
    PlainBigInt big;
    big.negative = overflow < 0;
    PyRef rest = PyRef::Steal(PyNumber_Absolute(obj));
    PyRef shift = PyRef::Steal(PyLong_FromLong(64));
    if (!rest || !shift) return ResultStatus::kPythonError;
    while (PyObject_IsTrue(rest.get()) == 1) {
      big.words.push_back(PyLong_AsUnsignedLongLongMask(rest.get()));
      rest = PyRef::Steal(PyNumber_Rshift(rest.get(), shift.get()));
      if (!rest) return ResultStatus::kPythonError;
    }
    Push({PlainNode::Kind::kBigInt}).index = tree_->bigints.size();
    tree_->bigints.push_back(std::move(big));
    return ResultStatus::kOk;
  }

  ResultStatus Array(PyArrayObject* array, bool exclusive) {
    const char kind = PyArray_DESCR(array)->kind;
    const auto itemsize = static_cast<size_t>(PyArray_ITEMSIZE(array));
    napi_typedarray_type type = napi_float64_array;  // what JS gets
    int native = NPY_NOTYPE;                         // the numpy type with that memory layout
    bool narrow = false;                             // int64/uint64 in a number mode
    auto pick = [&](napi_typedarray_type t, int n) {
      type = t;
      native = n;
    };
    if (kind == 'b' && itemsize == 1) {
      pick(napi_uint8_array, NPY_BOOL);
    } else if (kind == 'i' || kind == 'u') {
      const bool sign = kind == 'i';
      switch (itemsize) {
        case 1:
          pick(sign ? napi_int8_array : napi_uint8_array, sign ? NPY_INT8 : NPY_UINT8);
          break;
        case 2:
          pick(sign ? napi_int16_array : napi_uint16_array, sign ? NPY_INT16 : NPY_UINT16);
          break;
        case 4:
          pick(sign ? napi_int32_array : napi_uint32_array, sign ? NPY_INT32 : NPY_UINT32);
          break;
        case 8:
          pick(sign ? napi_bigint64_array : napi_biguint64_array, sign ? NPY_INT64 : NPY_UINT64);
          narrow = mode_ != Int64Mode::kBigInt;
          break;
      }
    } else if (kind == 'f') {
      if (itemsize == 8) pick(napi_float64_array, NPY_FLOAT64);
      if (itemsize == 4) pick(napi_float32_array, NPY_FLOAT32);
      // Without Float16Array, float16 widens to Float32Array (exactly).
      if (itemsize == 2) {
        kHasFloat16Array ? pick(kFloat16Array, NPY_FLOAT16) : pick(napi_float32_array, NPY_FLOAT32);
      }
    }
    if (native == NPY_NOTYPE) {
      PyRef dtype = PyRef::Steal(PyObject_Str(reinterpret_cast<PyObject*>(PyArray_DESCR(array))));
      const char* name = dtype ? PyUnicode_AsUTF8(dtype.get()) : nullptr;
      if (name == nullptr) PyErr_Clear();
      return Invalid(std::string("an array of dtype ") + (name ? name : "?") +
                     ", which no typed array holds");
    }

    PlainArray out;
    out.nd = PyArray_NDIM(array) > 1;
    for (int i = 0; i < PyArray_NDIM(array); i++) out.shape.push_back(PyArray_DIM(array, i));
    // One layout from here: C-contiguous, aligned, native byte order, of type `native`. A
    // conversion makes a fresh array, which nothing else sees.
    PyRef held = PyRef::Borrow(reinterpret_cast<PyObject*>(array));
    if (!PyArray_EquivTypenums(PyArray_TYPE(array), native) || !PyArray_IS_C_CONTIGUOUS(array) ||
        !PyArray_ISALIGNED(array) || !PyArray_ISNOTSWAPPED(array)) {
      held = PyRef::Steal(PyArray_FromArray(array, PyArray_DescrFromType(native),
                                            NPY_ARRAY_CARRAY_RO | NPY_ARRAY_FORCECAST));
      if (!held) return ResultStatus::kPythonError;
      exclusive = Py_REFCNT(held.get()) == 1;  // ours alone, unless numpy gave back `array`
    }
    auto* ready = reinterpret_cast<PyArrayObject*>(held.get());
    const auto count = static_cast<size_t>(PyArray_SIZE(ready));
    const void* data = PyArray_DATA(ready);
    if (narrow) return Narrow(std::move(out), data, count, native == NPY_INT64);

    out.type = type;
    out.byte_length = count * ElementSize(type);
    // Handed off only if nothing but our reference (`held`, plus the container's if it came
    // from one) can reach it, it owns its memory, and it is worth an external buffer.
    const Py_ssize_t expected = held.get() == reinterpret_cast<PyObject*>(array) ? 2 : 1;
    if (hand_off.load(std::memory_order_relaxed) && exclusive &&
        Py_REFCNT(held.get()) == expected && PyArray_CheckExact(held.get()) &&
        PyArray_CHKFLAGS(ready, NPY_ARRAY_OWNDATA) && PyArray_BASE(ready) == nullptr &&
        out.byte_length >= kHandOffMinBytes) {
      out.data = data;
      out.owner = KeptPyObject(held.Release());
    } else {
      out.copy.reset(static_cast<uint8_t*>(std::malloc(out.byte_length ? out.byte_length : 1)));
      if (!out.copy) throw std::bad_alloc();
      std::memcpy(out.copy.get(), data, out.byte_length);
      out.data = out.copy.get();
    }
    PushArray(std::move(out));
    return ResultStatus::kOk;
  }

  // int64/uint64 values into Int32Array or Float64Array memory, each checked.
  ResultStatus Narrow(PlainArray out, const void* data, size_t count, bool is_signed) {
    const bool to_int32 = mode_ == Int64Mode::kInt32;
    out.type = to_int32 ? napi_int32_array : napi_float64_array;
    out.byte_length = count * ElementSize(out.type);
    out.copy.reset(static_cast<uint8_t*>(std::malloc(out.byte_length ? out.byte_length : 1)));
    if (!out.copy) throw std::bad_alloc();
    const int64_t low = to_int32 ? INT32_MIN : -kMaxExact;
    const int64_t high = to_int32 ? INT32_MAX : kMaxExact;
    for (size_t i = 0; i < count; i++) {
      int64_t value = 0;
      bool fits = true;
      if (is_signed) {
        value = static_cast<const int64_t*>(data)[i];
      } else {
        const uint64_t u = static_cast<const uint64_t*>(data)[i];
        fits = u <= static_cast<uint64_t>(INT64_MAX);
        value = static_cast<int64_t>(u);
      }
      if (!fits || value < low || value > high) {
        const std::string shown = is_signed ? std::to_string(value)
                                            : std::to_string(static_cast<const uint64_t*>(data)[i]);
        return Invalid(std::string("an integer array whose element ") + std::to_string(i) + " (" +
                       shown + ") does not fit " +
                       (to_int32 ? "an Int32Array (int64: 'int32')"
                                 : "a Float64Array exactly (int64: 'float64')") +
                       "; int64: 'bigint' gives a BigInt64Array");
      }
      if (to_int32) {
        reinterpret_cast<int32_t*>(out.copy.get())[i] = static_cast<int32_t>(value);
      } else {
        reinterpret_cast<double*>(out.copy.get())[i] = static_cast<double>(value);
      }
    }
    out.data = out.copy.get();
    PushArray(std::move(out));
    return ResultStatus::kOk;
  }

  void PushArray(PlainArray array) {
    Push({PlainNode::Kind::kArray}).index = tree_->arrays.size();
    tree_->arrays.push_back(std::move(array));
  }

  PlainNode& Push(PlainNode node) {
    tree_->nodes.push_back(node);
    return tree_->nodes.back();
  }

  ResultStatus Invalid(std::string problem) {
    problem_ = std::move(problem);
    return ResultStatus::kInvalid;
  }

  ResultStatus Where(ResultStatus status, std::string segment) {
    if (status == ResultStatus::kInvalid) where_.push_back(std::move(segment));
    return status;
  }

  const Int64Mode mode_;
  PlainTree* tree_;
  std::string problem_;
  std::vector<std::string> where_;  // innermost first
};

}  // namespace

void SetResultHandOff(bool enabled) { hand_off.store(enabled, std::memory_order_relaxed); }

ResultStatus ResultToPlain(PyObject* result, Int64Mode mode, PlainTree* tree, std::string* why) {
  ResultReader reader(mode, tree);
  // The caller holds the one reference a fresh result has: Value() checks each level.
  const ResultStatus status = reader.Value(result, 0, true);
  if (status == ResultStatus::kInvalid) *why = reader.Why();
  return status;
}

}  // namespace py_outliers
