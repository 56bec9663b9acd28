// Strings between JS and Python, every one of them: lone surrogates included.
//
// A JS string is a sequence of UTF-16 code units and may hold a lone surrogate ('\uD800'); a
// Python str may too (os.fsdecode's surrogateescape, json.loads('"\\ud800"')). UTF-8 cannot
// carry one: Node-API's UTF-8 reader puts U+FFFD in its place, and Python's UTF-8 encoder
// raises. So a string crosses as ASCII or UTF-8 where it can (the usual case: names, keys,
// labels) and as its UTF-16 code units where it must, and comes back unchanged either way
// (docs/values.md, "Strings").
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <node_api.h>

#include <string>

namespace py_outliers {

struct PlainString {
  std::string bytes;   // UTF-8, or with utf16 set, UTF-16 code units in native byte order
  bool utf16 = false;  // set where the text holds a code unit that UTF-8 cannot carry
};

// JS thread: the string `value` as it is. ASCII text is read as bytes; any other text as its
// code units (Python decodes them, with "surrogatepass" for lone surrogates).
napi_status JsToPlainString(napi_env env, napi_value value, PlainString* out);

// JS thread: the JS string of `text`.
napi_status PlainStringToJs(napi_env env, const PlainString& text, napi_value* out);

// GIL held: a new str, or null with an exception set.
PyObject* PlainStringToPython(const PlainString& text);

// GIL held: `str`'s text (UTF-8, or UTF-16 where it holds a lone surrogate). False with an
// exception set (out of memory).
bool PythonToPlainString(PyObject* str, PlainString* out);

}  // namespace py_outliers
