// The pool addon (py_outliers_pool.node): what the worker processes' side of py-outliers needs
// from native code, and nothing of Python. It never loads libpython, so a program that uses
// only a ProcessPool runs with any CPython (docs/processes.md), and it is Node-API only, so one
// binary serves every Node line.
#include <node_api.h>

#include "pool/low_latency.h"
#include "pool/napi_util.h"
#include "pool/process_reaper.h"
#include "pool/shared_memory.h"
#include "runtime/cpu_budget.h"

namespace py_outliers {
namespace {

// usableCpus(): the CPUs this process may use (affinity mask and cgroup quota), the pool's
// default number of worker processes; the same count runtimeInfo().usableCpus gives.
napi_value UsableCpus(napi_env env, napi_callback_info) {
  napi_value out = nullptr;
  napi_create_int32(env, ReadCpuBudget().usable, &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor methods[] = {
      {"createRegion", nullptr, CreateRegion, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mapFile", nullptr, MapFile, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"usableCpus", nullptr, UsableCpus, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"watchProcess", nullptr, WatchProcess, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unwatchProcess", nullptr, UnwatchProcess, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lowLatencyWindowUs", nullptr, LowLatencyWindowUs, nullptr, nullptr, nullptr, napi_default,
       nullptr},
      {"pollSubmitted", nullptr, PollSubmitted, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pollIdle", nullptr, PollIdle, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods);
  return exports;
}

}  // namespace
}  // namespace py_outliers

NAPI_MODULE(NODE_GYP_MODULE_NAME, py_outliers::Init)
