// The few Node-API helpers the pool addon needs (native/pool/): argument reading and errors.
// Plain Node-API, not node-addon-api's C++ wrappers, to keep this addon small and its ABI the
// C one.
#pragma once

#include <node_api.h>

#include <string>

namespace py_outliers {

// Throws a JS Error and returns nullptr, for `return ThrowError(...)` in a callback.
napi_value ThrowError(napi_env env, const char* message);
// The same, with strerror(errno) after `what`.
napi_value ThrowErrno(napi_env env, const char* what);
// Argument `index` as a byte count (a whole number from 0 up to 2^53); throws a TypeError if not.
bool SizeArgument(napi_env env, napi_callback_info info, size_t index, size_t* out);
// Argument `index` as a UTF-8 string; throws a TypeError if not.
bool StringArgument(napi_env env, napi_callback_info info, size_t index, std::string* out);

}  // namespace py_outliers
