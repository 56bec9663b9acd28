// Per-environment state. The addon is loaded once per Node environment (the main thread and
// each worker_threads Worker); everything JS-side lives here, never in globals.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <napi.h>

#include <memory>

namespace py_outliers {

class AsyncChannel;

class AddonData {
 public:
  explicit AddonData(Napi::Env env);
  // Runs at the environment's teardown (instance-data finalizer, on the env's own thread).
  ~AddonData();
  AddonData(const AddonData&) = delete;
  AddonData& operator=(const AddonData&) = delete;

  static AddonData* Of(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

  // After Python started: gives this JS thread a Python thread state of its own, kept until
  // the environment ends. Throws a JS error if it cannot. Idempotent.
  void AdoptThreadState(Napi::Env env);
  bool main_thread() const { return main_thread_; }

  // The error classes of the TypeScript layer (src/errors.ts), set by start().
  Napi::FunctionReference python_error;
  Napi::FunctionReference result_error;
  Napi::FunctionReference closed_error;

  // Where this environment's async results arrive (async_call.h); made on first use.
  std::shared_ptr<AsyncChannel> async_channel;

 private:
  PyThreadState* thread_state_ = nullptr;
  bool main_thread_;
};

}  // namespace py_outliers
