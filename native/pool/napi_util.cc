#include "pool/napi_util.h"

#include <errno.h>

#include <cmath>
#include <cstring>

namespace py_outliers {
namespace {

bool Argument(napi_env env, napi_callback_info info, size_t index, napi_value* out) {
  size_t count = 4;
  napi_value args[4];
  if (napi_get_cb_info(env, info, &count, args, nullptr, nullptr) != napi_ok) return false;
  if (index >= count) {
    napi_throw_type_error(env, nullptr, "missing argument");
    return false;
  }
  *out = args[index];
  return true;
}

}  // namespace

napi_value ThrowError(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

napi_value ThrowErrno(napi_env env, const char* what) {
  const std::string message = std::string(what) + ": " + std::strerror(errno);
  return ThrowError(env, message.c_str());
}

bool SizeArgument(napi_env env, napi_callback_info info, size_t index, size_t* out) {
  napi_value value = nullptr;
  if (!Argument(env, info, index, &value)) return false;
  double number = -1;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= 0) ||
      number > 9007199254740992.0 || std::floor(number) != number) {
    napi_throw_type_error(env, nullptr, "a byte count must be a whole number from 0");
    return false;
  }
  *out = static_cast<size_t>(number);
  return true;
}

bool StringArgument(napi_env env, napi_callback_info info, size_t index, std::string* out) {
  napi_value value = nullptr;
  if (!Argument(env, info, index, &value)) return false;
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "a path must be a string");
    return false;
  }
  out->resize(length + 1);
  napi_get_value_string_utf8(env, value, out->data(), length + 1, &length);
  out->resize(length);
  return true;
}

}  // namespace py_outliers
