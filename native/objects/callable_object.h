// What the two callable objects (Outliers, PythonFunction) share: a Python function loaded at
// construction, close(), a sync call on the JS thread and an async call on the Python pool,
// both through the call core (calls/call.h). An object adds only its contract: how it reads
// its arguments into a CallWork.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "addon/js_errors.h"
#include "calls/async_call.h"
#include "calls/python_callable.h"

namespace py_outliers {

template <typename T>
class CallableObject : public Napi::ObjectWrap<T> {
 public:
  // `what` names the object in its ClosedError ("the <what> is closed"). info: (moduleName,
  // funcName, paths, ...): imports the module and finds the function.
  CallableObject(const Napi::CallbackInfo& info, const char* what)
      : Napi::ObjectWrap<T>(info), closed_message_(std::string("the ") + what + " is closed") {
    callable_ = LoadPythonCallable(info.Env(), info[0].As<Napi::String>().Utf8Value(),
                                   info[1].As<Napi::String>().Utf8Value(),
                                   info[2].As<Napi::Array>(), closed_message_);
  }

  // close(): no GIL wait on the JS thread: the last reference is released by whoever next
  // holds it, and async calls already queued see the flag and are refused.
  void Close(const Napi::CallbackInfo&) {
    if (!callable_) return;
    callable_->Close();
    callable_.reset();
  }

 protected:
  // The class: `async_name` its async method, `close` and, made per object by the constructor
  // with DefineOwnMethod, its sync one.
  template <Napi::Value (T::*Async)(const Napi::CallbackInfo&)>
  static Napi::Function DefineCallableClass(Napi::Env env, const char* name,
                                            const char* async_name) {
    using Wrap = Napi::ObjectWrap<T>;
    void (T::*close)(const Napi::CallbackInfo&) = &CallableObject::Close;
    return Wrap::DefineClass(env, name,
                             {
                                 Wrap::template InstanceMethod<Async>(async_name),
                                 Wrap::InstanceMethod("close", close),
                             });
  }

  // The hot path is a function of the object's own, made with `this` as its data, not a
  // prototype method: a method must find its C++ object with napi_unwrap (~800 instructions,
  // a fifth of a trivial call's native cost), this gets it from napi_get_cb_info for free. The
  // TS layer calls it only as native.<name>(...), so the JS object, which owns `this`, is alive
  // throughout the call.
  template <Napi::Value (T::*Method)(const Napi::CallbackInfo&)>
  void DefineOwnMethod(const Napi::CallbackInfo& info, const char* name) {
    info.This().As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(
        name, Napi::Function::New<&Trampoline<Method>>(info.Env(), name, static_cast<T*>(this)),
        napi_default));
  }

  // The callable for one call, or throws ClosedError. A copy, so the call keeps it even if a
  // getter run while its arguments are read closes this object.
  std::shared_ptr<PythonCallable> Open(Napi::Env env) const {
    if (!callable_) throw MakeClosedError(env, closed_message_);
    return callable_;
  }

  // After reading the arguments (a getter may have closed it meanwhile).
  static void CheckStillOpen(Napi::Env env, const PythonCallable& callable) {
    if (callable.closed()) throw MakeClosedError(env, callable.closed_message());
  }

 private:
  template <Napi::Value (T::*Method)(const Napi::CallbackInfo&)>
  static Napi::Value Trampoline(const Napi::CallbackInfo& info) {
    return (static_cast<T*>(info.Data())->*Method)(info);
  }

  const std::string closed_message_;
  std::shared_ptr<PythonCallable> callable_;  // null once closed
};

}  // namespace py_outliers
