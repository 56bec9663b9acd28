#include "values/plain_to_python.h"

#include "values/input_view.h"
#include "values/numpy_api.h"

namespace py_outliers {
namespace {

int NumpyType(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
      return NPY_INT8;
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return NPY_UINT8;
    case napi_int16_array:
      return NPY_INT16;
    case napi_uint16_array:
      return NPY_UINT16;
    case napi_int32_array:
      return NPY_INT32;
    case napi_uint32_array:
      return NPY_UINT32;
    case napi_float32_array:
      return NPY_FLOAT32;
    case napi_float64_array:
      return NPY_FLOAT64;
    case napi_bigint64_array:
      return NPY_INT64;
    case napi_biguint64_array:
      return NPY_UINT64;
    default:
      return NPY_FLOAT16;  // the only other kind ElementSize() knows
  }
}

}  // namespace

bool PythonCall::Build(PlainTree* tree) {
  size_t at = 0;
  const PlainNode& args = tree->nodes[at++];
  positional_ = args.index;
  values_.reserve(positional_);
  for (size_t i = 0; i < positional_; i++) {
    PyRef value = Value(tree, &at);
    if (!value) return false;
    values_.push_back(std::move(value));
  }
  const size_t keywords = tree->nodes[at++].index;
  if (keywords == 0) return true;
  kwnames_ = PyRef::Steal(PyTuple_New(static_cast<Py_ssize_t>(keywords)));
  if (!kwnames_) return false;
  for (size_t i = 0; i < keywords; i++) {
    PyObject* key = PlainStringToPython(tree->strings[tree->nodes[at++].index]);
    if (key == nullptr) return false;
    PyTuple_SET_ITEM(kwnames_.get(), static_cast<Py_ssize_t>(i), key);  // steals
    PyRef value = Value(tree, &at);
    if (!value) return false;
    values_.push_back(std::move(value));
  }
  return true;
}

PyObject* PythonCall::Call(PyObject* func) const {
  // PyRef is one pointer: its vector is the argument array vectorcall wants.
  static_assert(sizeof(PyRef) == sizeof(PyObject*), "PyRef layout");
  auto* const* argv = reinterpret_cast<PyObject* const*>(values_.data());
  return PyObject_Vectorcall(func, argv, positional_, kwnames_.get());
}

PyRef PythonCall::Value(PlainTree* tree, size_t* at) {
  const PlainNode& node = tree->nodes[(*at)++];
  switch (node.kind) {
    case PlainNode::Kind::kNone:
      return PyRef::Borrow(Py_None);
    case PlainNode::Kind::kBool:
      return PyRef::Borrow(node.boolean ? Py_True : Py_False);
    case PlainNode::Kind::kFloat:
      return PyRef::Steal(PyFloat_FromDouble(node.number));
    case PlainNode::Kind::kInt:
      return PyRef::Steal(PyLong_FromLongLong(node.integer));
    case PlainNode::Kind::kBigInt:
      return PyRef::Steal(BigIntToPythonInt(tree->bigints[node.index]));
    case PlainNode::Kind::kString:
      return PyRef::Steal(PlainStringToPython(tree->strings[node.index]));
    case PlainNode::Kind::kList: {
      PyRef list = PyRef::Steal(PyList_New(static_cast<Py_ssize_t>(node.index)));
      if (!list) return list;
      for (size_t i = 0; i < node.index; i++) {
        PyRef item = Value(tree, at);
        if (!item) return item;
        PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), item.Release());  // steals
      }
      return list;
    }
    case PlainNode::Kind::kDict: {
      PyRef dict = PyRef::Steal(PyDict_New());
      if (!dict) return dict;
      for (size_t i = 0; i < node.index; i++) {
        PyRef key = Value(tree, at);
        PyRef item = key ? Value(tree, at) : PyRef();
        if (!item || PyDict_SetItem(dict.get(), key.get(), item.get()) < 0) return PyRef();
      }
      return dict;
    }
    case PlainNode::Kind::kArray: {
      PlainArray& array = tree->arrays[node.index];
      InputView view;
      if (!view.Create(array.data, NumpyType(array.type), static_cast<int>(array.shape.size()),
                       array.shape.data(), std::move(array.pin))) {
        return PyRef();
      }
      PyRef out = PyRef::Borrow(view.array());
      view.ReleaseAndPinIfKept([] { return BufferPin(); });  // pinned already: just let go
      return out;
    }
  }
  return PyRef();
}

}  // namespace py_outliers
