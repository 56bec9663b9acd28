#include "runtime/python_error.h"

#include "runtime/py_ref.h"

namespace py_outliers {
namespace {

// traceback.format_exception, kept for the life of the process (never finalized).
PyObject* format_exception = nullptr;

// A str as UTF-8, whole: NUL characters kept, and a lone surrogate, which UTF-8 cannot carry,
// written as Python writes it in a repr ("\ud800"). Error text is read by people; values keep
// lone surrogates exactly (plain_text.h). Empty with an exception set on failure.
bool TextOf(PyObject* str, std::string* out) {
  PyRef bytes = PyRef::Steal(PyUnicode_AsEncodedString(str, "utf-8", "backslashreplace"));
  if (!bytes) return false;
  out->assign(PyBytes_AS_STRING(bytes.get()), static_cast<size_t>(PyBytes_GET_SIZE(bytes.get())));
  return true;
}

// str(obj) as TextOf gives it, or `fallback` if that itself raises (a hostile __str__).
std::string StrOr(PyObject* obj, const char* fallback) {
  PyRef str = PyRef::Steal(PyObject_Str(obj));
  std::string text;
  if (!str || !TextOf(str.get(), &text)) {
    PyErr_Clear();
    return fallback;
  }
  return text;
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
    if (joined) TextOf(joined.get(), &info.traceback);
  }
  if (info.traceback.empty()) info.traceback = info.type + ": " + info.message + "\n";
  PyErr_Clear();  // formatting may itself have raised; nothing may stay set
  return info;
}

}  // namespace py_outliers
