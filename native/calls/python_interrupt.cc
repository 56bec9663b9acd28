#include "calls/python_interrupt.h"

#include <pthread.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/gil.h"
#include "runtime/py_ref.h"
#include "runtime/python_runtime.h"

namespace py_outliers {
namespace {

// Leaked on purpose, like the thread (see python_threads.cc).
struct Requests {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<std::shared_ptr<CallControl>> calls;
  bool started = false;
};
Requests& TheRequests() {
  static Requests* requests = new Requests();
  return *requests;
}

void Interrupt(const std::vector<std::shared_ptr<CallControl>>& calls) {
  GilHold hold;
  // Looked up each time: a class object, alive as long as the helper module.
  PyRef aborted = PyRef::Steal(PyObject_GetAttrString(RuntimeHelper(), "CallAborted"));
  if (!aborted) {
    PyErr_Clear();
    return;  // cannot happen with the package's own helper; the calls then run to their end
  }
  for (const auto& call : calls) {
    if (call->WantsInterrupt()) PyThreadState_SetAsyncExc(call->thread_id(), aborted.get());
  }
}

void Loop() {
  pthread_setname_np(pthread_self(), "py-outliers/int");
  // A thread state of its own, once, for every GilHold on this thread (docs/architecture.md,
  // "Thread states").
  PyThreadState_New(PyInterpreterState_Main());
  Requests& requests = TheRequests();
  for (;;) {
    std::vector<std::shared_ptr<CallControl>> calls;
    {
      std::unique_lock<std::mutex> lock(requests.mutex);
      requests.wake.wait(lock, [&] { return !requests.calls.empty(); });
      calls.swap(requests.calls);
    }
    Interrupt(calls);
  }
}

}  // namespace

void RequestInterrupt(std::shared_ptr<CallControl> call) {
  Requests& requests = TheRequests();
  {
    std::lock_guard<std::mutex> lock(requests.mutex);
    requests.calls.push_back(std::move(call));
    if (!requests.started) {
      requests.started = true;
      std::thread(Loop).detach();  // lives as long as the process, like the Python threads
    }
  }
  requests.wake.notify_one();
}

}  // namespace py_outliers
