#include "values/plain_text.h"

#include <cstdint>
#include <vector>

#include "runtime/py_ref.h"

namespace py_outliers {

napi_status JsToPlainString(napi_env env, napi_value value, PlainString* out) {
  size_t length = 0;
  napi_status status = napi_get_value_string_utf16(env, value, nullptr, 0, &length);
  if (status != napi_ok) return status;
  // One read of the code units (the length + 1 is the terminator Node-API writes).
  std::u16string units(length, u'\0');
  status = napi_get_value_string_utf16(env, value, units.data(), length + 1, &length);
  if (status != napi_ok) return status;
  char16_t any = 0;
  for (char16_t unit : units) any |= unit;
  if (any < 0x80) {  // ASCII: the bytes themselves
    out->bytes.assign(units.begin(), units.end());
    out->utf16 = false;
  } else {
    out->bytes.assign(reinterpret_cast<const char*>(units.data()), units.size() * 2);
    out->utf16 = true;
  }
  return napi_ok;
}

napi_status PlainStringToJs(napi_env env, const PlainString& text, napi_value* out) {
  if (!text.utf16) return napi_create_string_utf8(env, text.bytes.data(), text.bytes.size(), out);
  return napi_create_string_utf16(env, reinterpret_cast<const char16_t*>(text.bytes.data()),
                                  text.bytes.size() / 2, out);
}

PyObject* PlainStringToPython(const PlainString& text) {
  const auto size = static_cast<Py_ssize_t>(text.bytes.size());
  if (!text.utf16) return PyUnicode_DecodeUTF8(text.bytes.data(), size, "strict");
  int order = 0;  // native: the code units were written by this machine
#if PY_BIG_ENDIAN
  order = 1;
#else
  order = -1;
#endif
  // Pairs combine into their code point; "surrogatepass" keeps a lone one as it is.
  return PyUnicode_DecodeUTF16(text.bytes.data(), size, "surrogatepass", &order);
}

bool PythonToPlainString(PyObject* str, PlainString* out) {
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(str, &size);
  if (utf8 != nullptr) {
    out->bytes.assign(utf8, static_cast<size_t>(size));
    out->utf16 = false;
    return true;
  }
  // Only a lone surrogate makes the UTF-8 encoder fail; anything else (out of memory) stays.
  if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return false;
  PyErr_Clear();
  PyRef units = PyRef::Steal(
      PyUnicode_AsEncodedString(str, PY_BIG_ENDIAN ? "utf-16-be" : "utf-16-le", "surrogatepass"));
  if (!units) return false;
  out->bytes.assign(PyBytes_AS_STRING(units.get()),
                    static_cast<size_t>(PyBytes_GET_SIZE(units.get())));
  out->utf16 = true;
  return true;
}

}  // namespace py_outliers
