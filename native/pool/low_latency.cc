#include "pool/low_latency.h"

#include <uv.h>

#include <map>
#include <mutex>

#include "calls/result_poll.h"
#include "pool/napi_util.h"
#include "runtime/cpu_budget.h"

namespace py_outliers {
namespace {

// Each environment's poll, made at its first call. A map, not instance data: the process
// reaper (pool/process_reaper.cc) has this addon's instance data. Environments live on
// different threads (Workers), hence the mutex; each touches only its own entry's handle.
std::mutex polls_mutex;
std::map<napi_env, ResultPoll*> polls;

// The environment is torn down: its handle is closed while its loop can still run the close.
void ClosePoll(void* data) {
  auto env = static_cast<napi_env>(data);
  ResultPoll* poll = nullptr;
  {
    std::lock_guard<std::mutex> lock(polls_mutex);
    auto found = polls.find(env);
    if (found == polls.end()) return;
    poll = found->second;
    polls.erase(found);
  }
  poll->Close();
}

ResultPoll* PollOf(napi_env env, int64_t window_ns) {
  {
    std::lock_guard<std::mutex> lock(polls_mutex);
    auto found = polls.find(env);
    if (found != polls.end()) return found->second;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return nullptr;
  ResultPoll* poll = ResultPoll::Open(loop, window_ns);
  {
    std::lock_guard<std::mutex> lock(polls_mutex);
    polls[env] = poll;
  }
  napi_add_env_cleanup_hook(env, ClosePoll, env);
  return poll;
}

ResultPoll* ExistingPoll(napi_env env) {
  std::lock_guard<std::mutex> lock(polls_mutex);
  auto found = polls.find(env);
  return found == polls.end() ? nullptr : found->second;
}

}  // namespace

napi_value LowLatencyWindowUs(napi_env env, napi_callback_info info) {
  size_t us = 0;
  if (!SizeArgument(env, info, 0, &us)) return nullptr;
  napi_value out = nullptr;
  const int64_t window_ns = LowLatencyWindowNs(ReadCpuBudget(), static_cast<int64_t>(us));
  napi_create_double(env, static_cast<double>(window_ns / 1000), &out);
  return out;
}

napi_value PollSubmitted(napi_env env, napi_callback_info info) {
  size_t us = 0;
  if (!SizeArgument(env, info, 0, &us)) return nullptr;
  if (us == 0) return nullptr;
  ResultPoll* poll = PollOf(env, static_cast<int64_t>(us) * 1000);
  if (poll != nullptr) poll->Submitted();
  return nullptr;
}

napi_value PollIdle(napi_env env, napi_callback_info) {
  ResultPoll* poll = ExistingPoll(env);
  if (poll != nullptr) poll->Idle();
  return nullptr;
}

}  // namespace py_outliers
