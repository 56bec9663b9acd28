#include "values/python_to_plain.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "runtime/py_ref.h"
#include "values/numpy_api.h"

namespace py_outliers {
namespace {

std::atomic<bool> hand_off{true};

constexpr int64_t kMaxExact = 9007199254740992;  // 2^53: every integer up to it is a double

// Whether weak references to `obj` may exist: Python code could reach it through them.
// Conservative where the type keeps them out of reach of this check (a managed slot).
bool MayBeWeaklyReferenced(PyObject* obj) {
  const Py_ssize_t offset = Py_TYPE(obj)->tp_weaklistoffset;
  if (offset == 0) return false;
  if (offset < 0) return true;
  return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(obj) + offset) != nullptr;
}

// numpy.ma.MaskedArray, if numpy.ma was imported (no masked array exists otherwise).
bool IsMaskedArray(PyObject* obj) {
  PyRef name = PyRef::Steal(PyUnicode_FromString("numpy.ma.core"));
  PyRef module = name ? PyRef::Steal(PyImport_GetModule(name.get())) : PyRef();
  PyRef type = module ? PyRef::Steal(PyObject_GetAttrString(module.get(), "MaskedArray")) : PyRef();
  PyErr_Clear();
  return type && PyType_Check(type.get()) &&
         PyObject_TypeCheck(obj, reinterpret_cast<PyTypeObject*>(type.get()));
}

// A bool array's bytes as JS is promised them: 0 or 1 (numpy keeps any non-zero byte a view
// or a ctypes buffer put there as True).
void NormalizeBools(uint8_t* bytes, size_t count) {
  for (size_t i = 0; i < count; i++) bytes[i] = bytes[i] != 0;
}

class ResultReader {
 public:
  ResultReader(Int64Mode mode, PlainTree* tree) : mode_(mode), tree_(tree) {}

  // `owners`: how many references to `obj` the path from the result accounts for (the
  // caller's, a container's slot, ours while we read it), if every container on the way is
  // reachable by that path alone; 0 if not. If `obj` has exactly that many and no weak
  // reference, no Python code can reach it but through us.
  //
  // The reader never calls a method a subclass can override (__index__, __float__, __abs__,
  // item()), yet Python code can still run under it (a __del__ of an object it lets go, a
  // garbage collection), and may change the containers being read. So it never keeps a
  // pointer into a container across a step: each item is held while it is read, sizes are
  // read again at every step, and a container's count is the number of entries it gave.
  ResultStatus Value(PyObject* obj, int depth, Py_ssize_t owners) {
    if (depth > kMaxDepth) {
      return Invalid(std::string("nested deeper than ") + std::to_string(kMaxDepth) +
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
    if (PyFloat_Check(obj)) {  // np.float64 too: it is a float. The C value, never __float__.
      Push({PlainNode::Kind::kFloat}).number = PyFloat_AS_DOUBLE(obj);
      return ResultStatus::kOk;
    }
    if (PyUnicode_Check(obj)) {
      Push({PlainNode::Kind::kString}).index = tree_->strings.size();
      tree_->strings.emplace_back();
      return PythonToPlainString(obj, &tree_->strings.back()) ? ResultStatus::kOk
                                                              : ResultStatus::kPythonError;
    }
    if (PyArray_Check(obj)) {
      if (!PyArray_CheckExact(obj) && IsMaskedArray(obj)) {
        return Invalid(
            "a numpy.ma.MaskedArray, whose mask JS would lose: return .filled(value), "
            ".compressed(), or its .data and .mask apart");
      }
      auto* array = reinterpret_cast<PyArrayObject*>(obj);
      if (PyArray_NDIM(array) > 0) return Array(array, IsOwned(obj, owners) ? owners : 0);
      // A 0-d array is its one value: numpy's scalar of it (for an object array, the object),
      // read from its memory, not through a subclass's item().
      PyRef item = PyRef::Steal(PyArray_ToScalar(PyArray_DATA(array), array));
      if (!item) return ResultStatus::kPythonError;
      return Value(item.get(), depth + 1, 0);
    }
    if (PyArray_IsScalar(obj, Generic)) {
      const ResultStatus status = Scalar(obj);
      if (status != ResultStatus::kInvalid || !problem_.empty()) return status;
    }
    if (PyList_Check(obj) || PyTuple_Check(obj)) {
      const Py_ssize_t item_owners = IsOwned(obj, owners) ? 2 : 0;  // its slot, and our hold
      const size_t node = tree_->nodes.size();
      Push({PlainNode::Kind::kList});
      size_t count = 0;
      for (Py_ssize_t i = 0; i < Py_SIZE(obj); i++, count++) {
        PyRef item = PyRef::Borrow(PySequence_Fast_GET_ITEM(obj, i));
        const ResultStatus status = Value(item.get(), depth + 1, item_owners);
        if (status != ResultStatus::kOk)
          return Where(status, std::string("[") + std::to_string(i) + "]");
      }
      tree_->nodes[node].index = count;
      return ResultStatus::kOk;
    }
    if (PyDict_Check(obj)) {
      const Py_ssize_t item_owners = IsOwned(obj, owners) ? 2 : 0;
      const size_t node = tree_->nodes.size();
      Push({PlainNode::Kind::kDict});
      size_t count = 0;
      PyObject *raw_key = nullptr, *raw_item = nullptr;
      Py_ssize_t pos = 0;
      while (PyDict_Next(obj, &pos, &raw_key, &raw_item)) {
        PyRef key = PyRef::Borrow(raw_key), item = PyRef::Borrow(raw_item);
        if (!PyUnicode_Check(key.get())) {
          return Invalid("a dict with a key of type " + std::string(Py_TYPE(key.get())->tp_name) +
                         " (JS object keys are strings)");
        }
        Push({PlainNode::Kind::kString}).index = tree_->strings.size();
        tree_->strings.emplace_back();
        if (!PythonToPlainString(key.get(), &tree_->strings.back())) {
          return ResultStatus::kPythonError;
        }
        const ResultStatus status = Value(item.get(), depth + 1, item_owners);
        if (status != ResultStatus::kOk)
          return Where(status, std::string("[") + KeyRepr(key.get()) + "]");
        count++;
      }
      tree_->nodes[node].index = count;
      return ResultStatus::kOk;
    }
    return Invalid(std::string("a ") + Py_TYPE(obj)->tp_name + ", which has no JS counterpart");
  }

  // Where the reader stopped: "result[1]['peak_heights']".
  std::string Where() const {
    std::string where = "result";
    for (size_t i = where_.size(); i-- > 0;) {
      if (where.size() > 120) {
        where += "...";
        break;
      }
      where += where_[i];
    }
    return where;
  }

  // What was wrong, with where: "result[1]['peak_heights'] is a set, ...".
  std::string Why() const { return Where() + " is " + problem_; }

 private:
  static bool IsOwned(PyObject* obj, Py_ssize_t owners) {
    return owners > 0 && Py_REFCNT(obj) == owners && !MayBeWeaklyReferenced(obj);
  }

  // 'key' as Python would show it, for messages.
  static std::string KeyRepr(PyObject* key) {
    PyRef repr = PyRef::Steal(PyObject_Repr(key));
    Py_ssize_t size = 0;
    const char* utf8 = repr ? PyUnicode_AsUTF8AndSize(repr.get(), &size) : nullptr;
    if (utf8 == nullptr) {
      PyErr_Clear();
      return "?";
    }
    return std::string(utf8, static_cast<size_t>(size));
  }

  // A numpy scalar, read from its own memory. kInvalid with no problem set: not a numeric
  // scalar (np.str_ is a str and was read as one; others are refused by Value()).
  ResultStatus Scalar(PyObject* obj) {
    PyRef descr = PyRef::Steal(reinterpret_cast<PyObject*>(PyArray_DescrFromScalar(obj)));
    if (!descr) return ResultStatus::kPythonError;
    const auto* d = reinterpret_cast<PyArray_Descr*>(descr.get());
    const char kind = d->kind;
    const auto size = static_cast<size_t>(PyDataType_ELSIZE(d));
    if (kind == 'b' || kind == 'i' || kind == 'u') {
      union {
        int8_t i8;
        uint8_t u8;
        int16_t i16;
        uint16_t u16;
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
      } raw = {};
      if (size != 1 && size != 2 && size != 4 && size != 8) return ResultStatus::kInvalid;
      PyArray_ScalarAsCtype(obj, &raw);
      if (kind == 'b') {
        Push({PlainNode::Kind::kBool}).boolean = raw.u8 != 0;
        return ResultStatus::kOk;
      }
      const bool sign = kind == 'i';
      switch (size) {
        case 1:
          return SmallInt(sign ? raw.i8 : raw.u8);
        case 2:
          return SmallInt(sign ? raw.i16 : raw.u16);
        case 4:
          return SmallInt(sign ? raw.i32 : static_cast<int64_t>(raw.u32));
        default:
          if (sign || raw.u64 <= static_cast<uint64_t>(INT64_MAX)) {
            return SmallInt(static_cast<int64_t>(raw.u64));
          }
          PlainBigInt big;
          big.words.push_back(raw.u64);
          return BigInt(std::move(big));
      }
    }
    if (kind == 'f') {
      double value = 0;
      PyRef as_double =
          PyRef::Steal(reinterpret_cast<PyObject*>(PyArray_DescrFromType(NPY_DOUBLE)));
      // The dtype's own cast (float16, float32, longdouble to double): C code, no method.
      if (PyArray_CastScalarToCtype(obj, &value,
                                    reinterpret_cast<PyArray_Descr*>(as_double.get())) < 0) {
        return ResultStatus::kPythonError;
      }
      Push({PlainNode::Kind::kFloat}).number = value;
      return ResultStatus::kOk;
    }
    return ResultStatus::kInvalid;
  }

  // An int (or int subclass), read from its digits: PyLong_AsLongLongAndOverflow reads an int
  // subclass's value as stored and calls none of its methods.
  ResultStatus Int(PyObject* obj) {
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (value == -1 && PyErr_Occurred()) return ResultStatus::kPythonError;
    if (overflow == 0) return SmallInt(value);
    PlainBigInt big;
    if (!PythonIntToBigInt(obj, &big)) return ResultStatus::kPythonError;
    return BigInt(std::move(big));
  }

  ResultStatus SmallInt(int64_t value) {
    if (mode_ == Int64Mode::kBigInt) {
      Push({PlainNode::Kind::kInt}).integer = value;  // a number while safe, else a bigint
      return ResultStatus::kOk;
    }
    // The number modes: every integer up to 2^53 is a number, 2^53 itself included.
    if (value < -kMaxExact || value > kMaxExact) return BeyondExact();
    Push({PlainNode::Kind::kFloat}).number = static_cast<double>(value);
    return ResultStatus::kOk;
  }

  ResultStatus BigInt(PlainBigInt big) {
    if (mode_ != Int64Mode::kBigInt) return BeyondExact();
    Push({PlainNode::Kind::kBigInt}).index = tree_->bigints.size();
    tree_->bigints.push_back(std::move(big));
    return ResultStatus::kOk;
  }

  ResultStatus BeyondExact() {
    return Invalid(
        "an int beyond 2^53, which a number cannot hold exactly (int64: 'bigint' gives a "
        "bigint)");
  }

  // `owners`: as Value()'s, 0 if Python code may reach the array otherwise.
  ResultStatus Array(PyArrayObject* array, Py_ssize_t owners) {
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
    // Whether nothing but our references can reach it: Value() found the result's path alone
    // holds it (`owners`), and `held` adds one.
    PyRef held = PyRef::Borrow(reinterpret_cast<PyObject*>(array));
    bool alone = owners > 0 && Py_REFCNT(held.get()) == owners + 1;
    if (!PyArray_EquivTypenums(PyArray_TYPE(array), native) || !PyArray_IS_C_CONTIGUOUS(array) ||
        !PyArray_ISALIGNED(array) || !PyArray_ISNOTSWAPPED(array)) {
      // ENSUREARRAY: a subclass's __array_finalize__ is not run for the copy.
      held = PyRef::Steal(
          PyArray_FromArray(array, PyArray_DescrFromType(native),
                            NPY_ARRAY_CARRAY_RO | NPY_ARRAY_FORCECAST | NPY_ARRAY_ENSUREARRAY));
      if (!held) return ResultStatus::kPythonError;
      // A fresh array is ours alone; numpy may also have given back `array` itself.
      if (held.get() != reinterpret_cast<PyObject*>(array)) alone = Py_REFCNT(held.get()) == 1;
    }
    auto* ready = reinterpret_cast<PyArrayObject*>(held.get());
    const auto count = static_cast<size_t>(PyArray_SIZE(ready));
    const void* data = PyArray_DATA(ready);
    if (narrow) return Narrow(std::move(out), data, count, native == NPY_INT64);

    out.type = type;
    out.byte_length = count * ElementSize(type);
    // Handed off only if nothing but the path's references (and `held`) can reach it, no weak
    // reference either, it owns its memory, and it is worth an external buffer.
    const bool bools = native == NPY_BOOL;
    if (hand_off.load(std::memory_order_relaxed) && alone && !MayBeWeaklyReferenced(held.get()) &&
        PyArray_CheckExact(held.get()) && PyArray_CHKFLAGS(ready, NPY_ARRAY_OWNDATA) &&
        PyArray_BASE(ready) == nullptr && out.byte_length >= kHandOffMinBytes) {
      // Read-only from here on Python's side: should any code still find the array (the
      // garbage collector's referrer lists), it cannot write into memory JS now owns.
      PyArray_CLEARFLAGS(ready, NPY_ARRAY_WRITEABLE);
      if (bools) NormalizeBools(static_cast<uint8_t*>(const_cast<void*>(data)), count);
      out.data = data;
      out.owner = KeptPyObject(held.Release());
    } else {
      out.copy.reset(static_cast<uint8_t*>(std::malloc(out.byte_length ? out.byte_length : 1)));
      if (!out.copy) throw std::bad_alloc();
      std::memcpy(out.copy.get(), data, out.byte_length);
      if (bools) NormalizeBools(out.copy.get(), count);
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
    where_.push_back(std::move(segment));
    return status;
  }

  const Int64Mode mode_;
  PlainTree* tree_;
  std::string problem_;
  std::vector<std::string> where_;  // innermost first
};

}  // namespace

void SetResultHandOff(bool enabled) { hand_off.store(enabled, std::memory_order_relaxed); }

ResultStatus ResultToPlain(PyObject* result, Int64Mode mode, PlainTree* tree, std::string* why,
                           PythonErrorInfo* cause) {
  ResultReader reader(mode, tree);
  // The caller holds the one reference a fresh result has: Value() checks each level.
  const ResultStatus status = reader.Value(result, 0, 1);
  if (status == ResultStatus::kInvalid) *why = reader.Why();
  if (status != ResultStatus::kPythonError) return status;
  // Python code run by the conversion raised (or memory ran out): the result is what was
  // wrong, and the exception why.
  *cause = TakePythonError();
  *why = reader.Where() + " could not be converted: " + cause->type + ": " + cause->message;
  return ResultStatus::kInvalid;
}

}  // namespace py_outliers
