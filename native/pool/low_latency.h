// The low-latency mode for worker processes (PY_OUTLIERS_LOW_LATENCY_US, off by default;
// docs/processes.md): for a fixed window after each call is sent, this environment's event loop
// polls for I/O instead of sleeping, so a reply that arrives within the window is read without
// waking a sleeping thread; the worker polls its channel for the same window after each reply
// (python/py_outliers_worker.py). The polling itself is calls/result_poll.h's, the in-process
// mode's: one per environment (the process's JS thread, each Worker), closed with it.
#pragma once

#include <node_api.h>

namespace py_outliers {

// lowLatencyWindowUs(us): `us`, or 0 where the mode is off (the process may run on one CPU
// only; runtime/cpu_budget.h).
napi_value LowLatencyWindowUs(napi_env env, napi_callback_info info);
// pollSubmitted(windowUs): a call was sent; poll until `windowUs` from now.
napi_value PollSubmitted(napi_env env, napi_callback_info info);
// pollIdle(): no call is in flight in this environment; stop polling.
napi_value PollIdle(napi_env env, napi_callback_info info);

}  // namespace py_outliers
