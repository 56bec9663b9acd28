// Worker processes end with the Node environment (thread) that started them. The worker asks
// the kernel for SIGKILL when that thread ends (PR_SET_PDEATHSIG, python/py_outliers_worker.py),
// and the environment's event loop would reap them; a Worker thread that worker.terminate()
// ends has no loop left to, and its dead workers stayed zombies until Node exited. So each
// environment kills, when it is torn down, the workers it still has, and reaps them
// (docs/processes.md, "Threads"). A pid is watched from spawn until its exit is seen, so a pid
// the system has reused is never signalled.
#pragma once

#include <node_api.h>

namespace py_outliers {

// watchProcess(pid): kill it (SIGKILL) if this environment is torn down while it lives.
napi_value WatchProcess(napi_env env, napi_callback_info info);
// unwatchProcess(pid): it has exited; forget it.
napi_value UnwatchProcess(napi_env env, napi_callback_info info);

}  // namespace py_outliers
