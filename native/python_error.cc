#include "python_error.h"

#include "addon.h"
#include "py_ref.h"

namespace py_outliers {
namespace {

// traceback.format_exception, kept for the life of the process (never finalized).
PyObject* format_exception = nullptr;

// str(obj) as UTF-8, or `fallback` if that itself raises (a hostile __str__).
std::string StrOr(PyObject* obj, const char* fallback) {
  PyRef str = PyRef::Steal(PyObject_Str(obj));
  const char* utf8 = str ? PyUnicode_AsUTF8(str.get()) : nullptr;
  if (utf8 == nullptr) {
    PyErr_Clear();
    return fallback;
  }
  return utf8;
}

}  // namespace

bool LoadTracebackFormatter() {
  PyRef module = PyRef::Steal(PyImport_ImportModule("traceback"));
  if (!module) return false;
  format_exception = PyObject_GetAttrString(module.get(), "format_exception");
  return format_exception != nullptr;
}

PythonErrorInfo TakePythonError() {
  PyObject *raw_type = nullptr, *raw_value = nullptr, *raw_tb = nullptr;
  PyErr_Fetch(&raw_type, &raw_value, &raw_tb);
  PyErr_NormalizeException(&raw_type, &raw_value, &raw_tb);
  PyRef type = PyRef::Steal(raw_type);
  PyRef value = PyRef::Steal(raw_value);
  PyRef tb = PyRef::Steal(raw_tb);
  if (tb && value) PyException_SetTraceback(value.get(), tb.get());

  PythonErrorInfo info;
  if (type && PyType_Check(type.get())) {
    info.type =
        StrOr(PyRef::Steal(PyType_GetName(reinterpret_cast<PyTypeObject*>(type.get()))).get(),
              "Exception");
  } else {
    info.type = "Exception";
  }
  info.message = value ? StrOr(value.get(), "<exception str() failed>") : "";

  if (format_exception != nullptr && value) {
    PyRef lines = PyRef::Steal(PyObject_CallFunctionObjArgs(
        format_exception, type.get(), value.get(), tb ? tb.get() : Py_None, nullptr));
    PyRef empty = PyRef::Steal(PyUnicode_FromString(""));
    PyRef joined =
        lines && empty ? PyRef::Steal(PyUnicode_Join(empty.get(), lines.get())) : PyRef();
    const char* utf8 = joined ? PyUnicode_AsUTF8(joined.get()) : nullptr;
    if (utf8 != nullptr) info.traceback = utf8;
  }
  if (info.traceback.empty()) info.traceback = info.type + ": " + info.message + "\n";
  PyErr_Clear();  // formatting may itself have raised; nothing may stay set
  return info;
}

Napi::Error MakePythonError(Napi::Env env, const PythonErrorInfo& info) {
  Napi::Object error = AddonData::Of(env)->python_error.New(
      {Napi::String::New(env, info.message), Napi::String::New(env, info.type),
       Napi::String::New(env, info.traceback)});
  return Napi::Error(env, error);
}

Napi::Error MakeClosedError(Napi::Env env, const std::string& message) {
  return Napi::Error(env, AddonData::Of(env)->closed_error.New({Napi::String::New(env, message)}));
}

Napi::Error MakeResultError(Napi::Env env, const std::string& why) {
  Napi::Object error = AddonData::Of(env)->result_error.New({Napi::String::New(env, why)});
  return Napi::Error(env, error);
}

}  // namespace py_outliers
