// The process's Python threads: a plain pool that starts CPython and runs async calls off the JS
// threads.
//
// N identical threads take jobs from one FIFO queue and sleep on a condition variable when it
// is empty: no routing by job, no priority changes, and no polling unless the low-latency mode
// asks for it (PY_OUTLIERS_LOW_LATENCY_US: a thread then polls the queue for that fixed window
// after each job before it sleeps). docs/threads.md says why. The count is a process-wide setting,
// fixed when Python starts (python_runtime.cc chooses it); 1 gives strictly one call at a time, for
// functions that are not reentrant.
//
// Why threads of our own rather than the libuv pool: a pool thread parked on the GIL is one
// fewer for fs, dns and crypto work, and each of our threads keeps one Python thread state for
// its whole life (docs/architecture.md, "Thread states"). Thread 0 *is* the interpreter's main
// thread: Py_InitializeFromConfig runs there, so the main thread state never belongs to a JS
// thread (a Worker) that may go away, and the exit work (threading._shutdown) runs there too.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace py_outliers {

// A unit of work for a Python thread. Run() is called on one of them with the GIL held; the
// job is destroyed right after, still under the GIL, so it may own PyRefs.
class PythonJob {
 public:
  virtual ~PythonJob() = default;
  virtual void Run() = 0;
};

// Starts `count` (>= 1) threads, each polling for `low_latency_ns` after a job (0: never), and runs
// `initialize` on thread 0 first (with no GIL: it starts
// Python and must leave the GIL held by that thread), then starts the others. Returns
// `initialize`'s result: empty on success, else the reason (and no other thread is started).
// Called once per process, by python_runtime.cc.
std::string StartPythonThreads(int count, int64_t low_latency_ns,
                               const std::function<std::string()>& initialize);

// Queues a job (FIFO); a free thread runs it. Any thread; no GIL needed. Only after a
// successful start.
void SubmitPythonJob(std::unique_ptr<PythonJob> job);

// Runs the process's exit work (python_exit.h) on thread 0 next, ahead of every queued job.
// From then on no thread runs any other job: those queued or submitted later are destroyed
// unrun, since the process is ending and their results could not be delivered. Once; any
// thread; no GIL needed.
void SubmitExitJob(std::unique_ptr<PythonJob> job);

// Wakes a thread so it takes the GIL once, which frees deferred releases. Any thread.
void WakePythonThread();

}  // namespace py_outliers
