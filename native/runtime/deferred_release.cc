#include "runtime/deferred_release.h"

#include <atomic>
#include <mutex>
#include <vector>

#include "runtime/python_threads.h"

namespace py_outliers {
namespace {

// Leaked on purpose: the queue may still be used by the Python thread while the process runs
// its static destructors at exit, and a destroyed mutex there is undefined behaviour.
struct Queue {
  std::mutex mutex;
  std::vector<PyObject*> objects;
  std::atomic<bool> non_empty{false};  // lets every GIL release skip the lock when idle
};
Queue& TheQueue() {
  static Queue* queue = new Queue();
  return *queue;
}

}  // namespace

void ReleaseWhenGilHeld(PyObject* obj) {
  if (obj == nullptr) return;
  if (PyGILState_Check()) {
    Py_DECREF(obj);
    return;
  }
  Queue& queue = TheQueue();
  {
    std::lock_guard<std::mutex> lock(queue.mutex);
    queue.objects.push_back(obj);
    queue.non_empty.store(true, std::memory_order_release);
  }
  // Nobody may take the GIL again for a long while (the last Outliers was collected): the
  // Python thread frees the queue when it wakes.
  WakePythonThread();
}

void DrainDeferredReleases() {
  Queue& queue = TheQueue();
  if (!queue.non_empty.load(std::memory_order_acquire)) return;
  std::vector<PyObject*> objects;
  {
    std::lock_guard<std::mutex> lock(queue.mutex);
    objects.swap(queue.objects);
    queue.non_empty.store(false, std::memory_order_release);
  }
  // Outside the lock: a __del__ run here may release more objects and come back to us.
  for (PyObject* obj : objects) Py_DECREF(obj);
}

}  // namespace py_outliers
