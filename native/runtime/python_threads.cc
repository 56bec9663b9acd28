#include "runtime/python_threads.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "runtime/gil.h"
#include "runtime/keep_mapped.h"
#include "runtime/poll_window.h"

namespace py_outliers {
namespace {

// Leaked on purpose, like the threads themselves: at process exit a thread may still be
// waiting on the condition variable or running a job while static destructors run. Destroying
// a mutex or condition variable that is in use is undefined behaviour; leaking it is not.
struct Pool {
  std::mutex mutex;
  std::condition_variable wake;  // any idle thread: every thread can run every job
  std::deque<std::unique_ptr<PythonJob>> jobs;
  int pokes = 0;         // wake-ups with no job: take the GIL once to drain deferred releases
  bool started = false;  // every thread runs: pokes may be queued
  // The exit job has a slot of its own, ahead of `jobs`, for thread 0 only. `exiting` is set
  // with it and read without the lock between jobs: from then on no other job runs.
  std::unique_ptr<PythonJob> exit_job;
  std::atomic<bool> exiting{false};
  // The low-latency mode (PY_OUTLIERS_LOW_LATENCY_US; 0: off): for this long after a job, a thread
  // watches `submits` (bumped by every submit, poke and the exit job) instead of sleeping.
  // `polling` threads (under the lock) are not woken for a submit.
  int64_t low_latency_ns = 0;
  int polling = 0;
  std::atomic<uint64_t> submits{0};
};
Pool& ThePool() {
  static Pool* pool = new Pool();
  return *pool;
}

// What a thread takes next: one job, the exit job, or a poke (no job).
struct Work {
  std::unique_ptr<PythonJob> job;
  bool exit = false;
};

// The low-latency mode: with the lock released, polls for a submit for up to low_latency_ns.
// Returns with the lock held again, the queue to be looked at anew.
void PollForWork(Pool& pool, std::unique_lock<std::mutex>& lock) {
  pool.polling++;
  const uint64_t seen = pool.submits.load(std::memory_order_acquire);
  lock.unlock();
  PollWhileUnchanged(pool.submits, seen, pool.low_latency_ns);
  lock.lock();
  pool.polling--;
}

// `ran_job`: the thread comes from a job, so in the low-latency mode it polls before it sleeps.
Work Next(Pool& pool, int index, bool ran_job) {
  std::unique_lock<std::mutex> lock(pool.mutex);
  bool polled = !ran_job || pool.low_latency_ns == 0;
  for (;;) {
    Work work;
    if (index == 0 && pool.exit_job) {
      work.job = std::move(pool.exit_job);
      work.exit = true;
      return work;
    }
    if (!pool.jobs.empty()) {
      work.job = std::move(pool.jobs.front());
      pool.jobs.pop_front();
      return work;
    }
    if (pool.pokes > 0) {
      pool.pokes--;
      return work;
    }
    if (!polled) {
      polled = true;
      PollForWork(pool, lock);
      continue;
    }
    pool.wake.wait(lock);
  }
}

void Loop(int index) {
  Pool& pool = ThePool();
  bool ran_job = false;
  for (;;) {
    Work work = Next(pool, index, ran_job);
    ran_job = work.job != nullptr;
    // The GIL is taken and released per job: a JS thread calling the sync API then waits for
    // one call at most, never for a whole queue. Once exiting, jobs are only destroyed (still
    // under the GIL: they may own PyRefs). A poke takes the GIL just to release it: the
    // release drains the deferred releases.
    GilHold hold;
    if (work.job && (work.exit || !pool.exiting.load(std::memory_order_acquire))) {
      work.job->Run();
    }
    work.job.reset();
  }
}

// Names the thread for top -H, gdb and perf. Nothing else: its priority, signal mask and
// scheduling are the creating thread's, so whatever Python starts from here (a subprocess, a
// threading.Thread, a loky worker) inherits what it would under `python`.
void NameThread(int index) {
  const std::string name = "py-outliers/" + std::to_string(index);  // at most 15 characters
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Threads 1..count-1, started by thread 0 once Python runs. Each makes its Python thread
// state once, for its whole life (PyThreadState_New also registers it for the PyGILState API
// on this thread, so every GilHold reuses it). Returns why one could not start, if so.
std::string StartOtherThreads(int count) {
  for (int index = 1; index < count; index++) {
    std::promise<bool> ready;
    std::future<bool> made = ready.get_future();
    try {
      std::thread([index, ready = std::move(ready)]() mutable {
        NameThread(index);
        ready.set_value(PyThreadState_New(PyInterpreterState_Main()) != nullptr);
        Loop(index);
      }).detach();
    } catch (const std::system_error& error) {
      return std::string("cannot start Python thread ") + std::to_string(index) + ": " +
             error.what();
    }
    if (!made.get()) return "cannot create a Python thread state";
  }
  return "";
}

}  // namespace

std::string StartPythonThreads(int count, int64_t low_latency_ns,
                               const std::function<std::string()>& initialize) {
  std::string error = KeepAddonMapped();
  if (!error.empty()) return error;
  ThePool().low_latency_ns = low_latency_ns;  // before any thread starts
  std::promise<std::string> started;
  std::future<std::string> result = started.get_future();
  // The promise moves into the thread: the caller may return (and would destroy a promise it
  // owned) while set_value is still finishing on the other thread.
  std::thread thread([started = std::move(started), initialize, count]() mutable {
    NameThread(0);
    std::string error = initialize();
    if (!error.empty()) {
      started.set_value(error);
      return;
    }
    // Initialization left the GIL with us; hand it back so that every thread can take it.
    PyEval_SaveThread();
    error = StartOtherThreads(count);
    if (!error.empty()) {
      started.set_value(error);
      return;
    }
    {
      Pool& pool = ThePool();
      std::lock_guard<std::mutex> lock(pool.mutex);
      pool.started = true;
    }
    started.set_value(std::string());
    Loop(0);
  });
  // Detached: the threads live as long as the process. They are never joined, because joining
  // would mean stopping Python, and Py_Finalize is never called (numpy cannot restart).
  thread.detach();
  return result.get();
}

void SubmitPythonJob(std::unique_ptr<PythonJob> job) {
  Pool& pool = ThePool();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    pool.jobs.push_back(std::move(job));
    pool.submits.fetch_add(1, std::memory_order_release);
    // A polling thread takes the job without a wake-up; more jobs than pollers need one.
    wake = pool.jobs.size() > static_cast<size_t>(pool.polling);
  }
  if (wake) pool.wake.notify_one();
}

void SubmitExitJob(std::unique_ptr<PythonJob> job) {
  Pool& pool = ThePool();
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    pool.exit_job = std::move(job);
    pool.exiting.store(true, std::memory_order_release);
    pool.submits.fetch_add(1, std::memory_order_release);  // a polling thread 0 looks now
  }
  // All of them: the exit job is thread 0's, and notify_one might wake another.
  pool.wake.notify_all();
}

void WakePythonThread() {
  Pool& pool = ThePool();
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    if (!pool.started) return;
    pool.pokes++;
    pool.submits.fetch_add(1, std::memory_order_release);
  }
  pool.wake.notify_one();
}

}  // namespace py_outliers
