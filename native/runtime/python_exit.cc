#include "runtime/python_exit.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "runtime/py_ref.h"
#include "runtime/python_runtime.h"
#include "runtime/python_threads.h"

namespace py_outliers {
namespace {

// Shared by the waiting thread and the job: whichever lets go last frees it, so a wait that
// timed out leaves nothing dangling for a job that finishes later.
struct Completion {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
};

class ExitJob : public PythonJob {
 public:
  explicit ExitJob(std::shared_ptr<Completion> completion) : completion_(std::move(completion)) {}

  void Run() override {
    // python/py_outliers_runtime.py: at_exit() reports its own failures on sys.stderr, as
    // `python` does for a failing atexit handler; nothing may escape to here.
    PyRef result = PyRef::Steal(PyObject_CallMethod(RuntimeHelper(), "at_exit", nullptr));
    if (!result) PyErr_Print();
    {
      std::lock_guard<std::mutex> lock(completion_->mutex);
      completion_->done = true;
    }
    completion_->done_cv.notify_all();
  }

 private:
  std::shared_ptr<Completion> completion_;
};

// Set once at start, before the exit handler is installed; read at exit.
std::atomic<int64_t> exit_timeout_ms{5000};

void RunPythonExitWork() {
  static std::atomic<bool> started{false};
  if (started.exchange(true)) return;  // the first trigger does it; exit() comes after teardown
  auto completion = std::make_shared<Completion>();
  SubmitExitJob(std::make_unique<ExitJob>(completion));
  std::unique_lock<std::mutex> lock(completion->mutex);
  completion->done_cv.wait_for(lock, std::chrono::milliseconds(exit_timeout_ms.load()),
                               [&] { return completion->done; });
}

}  // namespace

void SetExitTimeout(int64_t ms) { exit_timeout_ms.store(ms); }

void InstallPythonExitHandler() { std::atexit(RunPythonExitWork); }

void RunPythonExitWorkAtTeardown(Napi::Env env) {
  napi_add_env_cleanup_hook(env, [](void*) { RunPythonExitWork(); }, nullptr);
}

}  // namespace py_outliers
