// Module entry: the functions and classes the TypeScript layer calls (declared in
// src/native.ts), registered once per environment.
#include <uv.h>

#include "addon/addon_data.h"
#include "addon/js_errors.h"
#include "calls/async_call.h"
#include "objects/outliers.h"
#include "objects/python_function.h"
#include "runtime/gil.h"
#include "runtime/py_ref.h"
#include "runtime/python_exit.h"
#include "runtime/python_runtime.h"
#include "values/adopted_buffer.h"
#include "values/python_to_plain.h"

namespace py_outliers {

namespace {

// start(pythonDir, { PythonError, ResultError, ClosedError, PythonStartError }, settings,
// threadsRequired, executable): starts Python (once per process) and prepares this environment
// to call it. `settings` is src/settings.ts's StartSettings, checked there; with
// `threadsRequired` (setPythonThreads), a Python already running must have that many threads.
// executable: the interpreter to behave as (src/native.ts).
void Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = AddonData::Of(env);
  Napi::Object errors = info[1].As<Napi::Object>();
  data->python_error = Napi::Persistent(errors.Get("PythonError").As<Napi::Function>());
  data->result_error = Napi::Persistent(errors.Get("ResultError").As<Napi::Function>());
  data->closed_error = Napi::Persistent(errors.Get("ClosedError").As<Napi::Function>());
  Napi::Object given = info[2].As<Napi::Object>();
  StartSettings settings;
  settings.executable = info[4].As<Napi::String>().Utf8Value();
  settings.package_python_dir = info[0].As<Napi::String>().Utf8Value();
  settings.threads = given.Get("threads").As<Napi::Number>().Int32Value();
  settings.low_latency_us = given.Get("lowLatencyUs").As<Napi::Number>().Int64Value();
  settings.malloc_tuning = given.Get("mallocTuning").ToBoolean().Value();
  settings.exit_timeout_ms = given.Get("exitTimeoutMs").As<Napi::Number>().Int64Value();
  if (settings.threads < 1) throw Napi::RangeError::New(env, "threads must be at least 1");
  const std::string& failure = EnsurePythonStarted(settings);
  if (!failure.empty()) {
    Napi::Function start_error = errors.Get("PythonStartError").As<Napi::Function>();
    throw Napi::Error(env, start_error.New({Napi::String::New(env, "py-outliers: " + failure)}));
  }
  const int running = RuntimeFacts().python_threads;
  if (info[3].ToBoolean().Value() && settings.threads != running) {
    throw Napi::Error::New(env, "py-outliers: Python already runs with " + std::to_string(running) +
                                    " threads in this process; setPythonThreads(" +
                                    std::to_string(settings.threads) + ") came too late");
  }
  data->AdoptThreadState(env);
  // Python's exit work runs when the process ends, which a Worker's end is not.
  if (data->main_thread()) RunPythonExitWorkAtTeardown(env);
}

Napi::Value ToJs(Napi::Env env, PyObject* value) {
  if (PyBool_Check(value)) return Napi::Boolean::New(env, value == Py_True);
  PyRef str = PyRef::Steal(PyObject_Str(value));
  const char* utf8 = str ? PyUnicode_AsUTF8(str.get()) : nullptr;
  if (utf8 == nullptr) throw MakePythonError(env, TakePythonError());
  return Napi::String::New(env, utf8);
}

// runtimeInfo(): what the interpreter reports about itself, plus what only the addon knows.
Napi::Value RuntimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  {
    GilHold hold;
    PyRef facts = PyRef::Steal(PyObject_CallMethod(RuntimeHelper(), "info", nullptr));
    if (!facts || !PyDict_Check(facts.get())) throw MakePythonError(env, TakePythonError());
    PyObject *key = nullptr, *value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(facts.get(), &pos, &key, &value)) {
      out.Set(ToJs(env, key), ToJs(env, value));
    }
  }
  const NativeRuntimeFacts& facts = RuntimeFacts();
  out.Set("libpython", facts.libpython);
  out.Set("buildExecutable", PY_OUTLIERS_EXECUTABLE);
  out.Set("buildPythonVersion", PY_OUTLIERS_BUILD_VERSION);
  out.Set("buildNumpyVersion", PY_OUTLIERS_BUILD_NUMPY);
  out.Set("mallocTuning", facts.malloc_tuning);
  out.Set("pythonThreads", facts.python_threads);
  out.Set("usableCpus", facts.usable_cpus);
  out.Set("lowLatencyUs", static_cast<double>(facts.low_latency_ns / 1000));
  return out;
}

// cancel(id, error): aborts async call `id` (see async_call.h); returns whether it was pending.
Napi::Value Cancel(const Napi::CallbackInfo& info) {
  return CancelAsyncCall(info.Env(), info[0].As<Napi::Number>().DoubleValue(), info[1]);
}

// setResultTransfer(mode), for tests and the bench: 0 hands result arrays off where it is safe
// (the default), 1 copies every one, 2 behaves as if the runtime refused external buffers.
void SetResultTransfer(const Napi::CallbackInfo& info) {
  const int mode = info[0].As<Napi::Number>().Int32Value();
  SetResultHandOff(mode == 0);
  SimulateNoExternalBuffers(mode == 2);
}

// buildInfo: what the addon was compiled against (binding.gyp's defines, from
// scripts/python_config.js). Constant, and readable without starting Python.
Napi::Object BuildInfo(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("executable", PY_OUTLIERS_EXECUTABLE);
  out.Set("pythonVersion", PY_OUTLIERS_BUILD_VERSION);
  out.Set("numpyVersion", PY_OUTLIERS_BUILD_NUMPY);
  out.Set("prebuilt", PY_OUTLIERS_PREBUILT != 0);
  out.Freeze();
  return out;
}

// int64Modes: how PythonFunction's `int64` option names each Int64Mode (values/plain_value.h),
// and the number that passes it.
Napi::Object Int64Modes(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("bigint", static_cast<int32_t>(Int64Mode::kBigInt));
  out.Set("int32", static_cast<int32_t>(Int64Mode::kInt32));
  out.Set("float64", static_cast<int32_t>(Int64Mode::kFloat64));
  out.Freeze();
  return out;
}

}  // namespace
}  // namespace py_outliers

// Module init, once per environment.
static Napi::Object InitPyOutliers(Napi::Env env, Napi::Object exports) {
  using namespace py_outliers;
  env.SetInstanceData(new AddonData(env));
  exports.Set("start", Napi::Function::New(env, Start, "start"));
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfo, "runtimeInfo"));
  exports.Set("cancel", Napi::Function::New(env, Cancel, "cancel"));
  exports.Set("buildInfo", BuildInfo(env));
  exports.Set("int64Modes", Int64Modes(env));
  exports.Set("setResultTransfer",
              Napi::Function::New(env, SetResultTransfer, "setResultTransfer"));
  exports.Set("Outliers", Outliers::Define(env));
  exports.Set("PythonFunction", PythonFunction::Define(env));
  return exports;
}

NODE_API_MODULE(py_outliers, InitPyOutliers)
