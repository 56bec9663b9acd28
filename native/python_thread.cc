#include "python_thread.h"

#include <dlfcn.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "gil.h"

namespace py_outliers {
namespace {

// Leaked on purpose, like the thread itself: at process exit the thread may still be waiting
// on this condition variable or running a job while static destructors run. Destroying a
// mutex or condition variable that is in use is undefined behaviour; leaking it is not.
struct State {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::unique_ptr<PythonJob>> jobs;
  bool poked = false;  // a wake-up with no job: take the GIL once to drain deferred releases
  bool running = false;
  // The exit job has a slot of its own, ahead of `jobs`. `exiting` is set with it and read
  // without the lock between jobs: from then on no other job runs.
  std::unique_ptr<PythonJob> exit_job;
  std::atomic<bool> exiting{false};
};
State& TheState() {
  static State* state = new State();
  return *state;
}

void Loop() {
  State& state = TheState();
  for (;;) {
    std::deque<std::unique_ptr<PythonJob>> batch;
    std::unique_ptr<PythonJob> exit_job;
    {
      std::unique_lock<std::mutex> lock(state.mutex);
      state.wake.wait(lock, [&] { return !state.jobs.empty() || state.poked || state.exit_job; });
      batch.swap(state.jobs);
      exit_job = std::move(state.exit_job);
      state.poked = false;
    }
    // The GIL is taken and released per job, not per batch: a JS thread calling the sync API
    // then waits for one call at most, never for a whole queue. Once exiting, jobs are only
    // destroyed (still under the GIL: they may own PyRefs).
    for (auto& job : batch) {
      GilHold hold;
      if (!state.exiting.load(std::memory_order_acquire)) job->Run();
      job.reset();
    }
    if (exit_job) {
      GilHold hold;
      exit_job->Run();
      exit_job.reset();
    } else if (batch.empty()) {
      GilHold hold;  // a poke: the GIL's release drains the deferred releases
    }
  }
}

// Node unloads an addon (dlclose) when the last environment that loaded it ends, e.g. when
// the only Worker that used it exits. This thread runs our code for the life of the process,
// and Python holds pointers into it (the pin type's dealloc), so the library must stay
// mapped: re-open it with RTLD_NODELETE (still RTLD_LOCAL, see NOTES.md item 1).
std::string KeepLibraryLoaded() {
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&KeepLibraryLoaded), &self) == 0 ||
      self.dli_fname == nullptr ||
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) == nullptr) {
    return "cannot pin the py-outliers addon in memory";
  }
  return "";
}

}  // namespace

std::string StartPythonThread(const std::function<std::string()>& initialize) {
  std::string error = KeepLibraryLoaded();
  if (!error.empty()) return error;
  std::promise<std::string> started;
  std::future<std::string> result = started.get_future();
  // The promise moves into the thread: the caller may return (and would destroy a promise it
  // owned) while set_value is still finishing on the other thread.
  std::thread thread([started = std::move(started), initialize]() mutable {
    std::string error = initialize();
    if (!error.empty()) {
      started.set_value(error);
      return;
    }
    // Initialization left the GIL with us; hand it back so that every thread can take it.
    PyEval_SaveThread();
    {
      std::lock_guard<std::mutex> lock(TheState().mutex);
      TheState().running = true;
    }
    started.set_value(std::string());
    Loop();
  });
  // Detached: the thread lives as long as the process. It is never joined, because joining
  // would mean stopping Python, and Py_Finalize is never called (numpy cannot restart).
  thread.detach();
  return result.get();
}

void SubmitPythonJob(std::unique_ptr<PythonJob> job) {
  State& state = TheState();
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    state.jobs.push_back(std::move(job));
  }
  state.wake.notify_one();
}

void SubmitExitJob(std::unique_ptr<PythonJob> job) {
  State& state = TheState();
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    state.exit_job = std::move(job);
    state.exiting.store(true, std::memory_order_release);
  }
  state.wake.notify_one();
}

void WakePythonThread() {
  State& state = TheState();
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.running) return;
    state.poked = true;
  }
  state.wake.notify_one();
}

}  // namespace py_outliers
