// The Outliers object: one Python function, looked up once, called with Float64Arrays.
#pragma once

#include <napi.h>

#include <memory>

#include "detector.h"

namespace py_outliers {

class Outliers : public Napi::ObjectWrap<Outliers> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Outliers(moduleName, funcName, paths): imports the module and finds the function.
  explicit Outliers(const Napi::CallbackInfo& info);

 private:
  Napi::Value Detect(const Napi::CallbackInfo& info);
  Napi::Value DetectAsync(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  std::shared_ptr<Detector> detector_;  // null once closed
};

}  // namespace py_outliers
