#include "pool/process_reaper.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <iterator>
#include <set>

#include "pool/napi_util.h"

namespace py_outliers {
namespace {

// The environment's live workers. Owned by the environment's cleanup hook, which runs on its
// own thread when the environment ends (the process's exit, or a Worker's end).
struct Watched {
  std::set<pid_t> pids;
};

void KillAll(void* data) {
  auto* watched = static_cast<Watched*>(data);
  for (const pid_t pid : watched->pids) kill(pid, SIGKILL);
  // Reaped here: the environment's event loop, which would have, is gone, and an unreaped
  // child stays a zombie until Node exits. SIGKILL ends a process within milliseconds; a
  // second at most is spent waiting (a process stuck in the kernel is left as it is).
  for (int tries = 0; tries < 1000 && !watched->pids.empty(); tries++) {
    for (auto it = watched->pids.begin(); it != watched->pids.end();) {
      it = waitpid(*it, nullptr, WNOHANG) != 0 ? watched->pids.erase(it) : std::next(it);
    }
    if (!watched->pids.empty()) {
      const timespec millisecond{0, 1000000};
      nanosleep(&millisecond, nullptr);
    }
  }
  delete watched;
}

Watched* WatchedOf(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  if (data != nullptr) return static_cast<Watched*>(data);
  auto* watched = new Watched();
  // Instance data without a finalizer: the cleanup hook owns it (it runs after the finalizers
  // of the environment's objects, once).
  napi_set_instance_data(env, watched, nullptr, nullptr);
  napi_add_env_cleanup_hook(env, KillAll, watched);
  return watched;
}

bool PidArgument(napi_env env, napi_callback_info info, pid_t* pid) {
  size_t bytes = 0;
  if (!SizeArgument(env, info, 0, &bytes) || bytes == 0) return false;
  *pid = static_cast<pid_t>(bytes);
  return true;
}

}  // namespace

napi_value WatchProcess(napi_env env, napi_callback_info info) {
  pid_t pid = 0;
  if (PidArgument(env, info, &pid)) WatchedOf(env)->pids.insert(pid);
  return nullptr;
}

napi_value UnwatchProcess(napi_env env, napi_callback_info info) {
  pid_t pid = 0;
  if (PidArgument(env, info, &pid)) WatchedOf(env)->pids.erase(pid);
  return nullptr;
}

}  // namespace py_outliers
