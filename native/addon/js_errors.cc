#include "addon/js_errors.h"

#include "addon/addon_data.h"

namespace py_outliers {

Napi::Error MakePythonError(Napi::Env env, const PythonErrorInfo& info) {
  Napi::Object error = AddonData::Of(env)->python_error.New(
      {Napi::String::New(env, info.message), Napi::String::New(env, info.type),
       Napi::String::New(env, info.traceback)});
  return Napi::Error(env, error);
}

Napi::Error MakeClosedError(Napi::Env env, const std::string& message) {
  return Napi::Error(env, AddonData::Of(env)->closed_error.New({Napi::String::New(env, message)}));
}

Napi::Error MakeResultError(Napi::Env env, const std::string& why, const PythonErrorInfo& cause) {
  Napi::Object options = Napi::Object::New(env);
  if (!cause.type.empty()) options.Set("cause", MakePythonError(env, cause).Value());
  Napi::Object error = AddonData::Of(env)->result_error.New({Napi::String::New(env, why), options});
  return Napi::Error(env, error);
}

}  // namespace py_outliers
