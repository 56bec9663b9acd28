// The one thread per process that starts CPython and runs Python work off the JS threads.
//
// Why a dedicated thread rather than the libuv pool: Python work is serialized by the GIL, so
// more than one thread running it buys nothing but GIL hand-offs, while every pool thread
// parked on the GIL is one fewer for fs, dns and crypto work. This thread also *is* the
// interpreter's main thread: Py_InitializeFromConfig runs here, so the interpreter's main
// thread state never belongs to a JS thread (a Worker) that may go away.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace py_outliers {

// A unit of work for the Python thread. Run() is called on that thread with the GIL held;
// the job is destroyed right after, still under the GIL, so it may own PyRefs.
class PythonJob {
 public:
  virtual ~PythonJob() = default;
  virtual void Run() = 0;
};

// Runs the process's exit work (python_exit.h) next, ahead of every queued job. From then on
// the thread runs no other job: those queued or submitted later are destroyed unrun, since the
// process is ending and their results could not be delivered. Once; any thread; no GIL needed.
void SubmitExitJob(std::unique_ptr<PythonJob> job);

// Starts the thread and runs `initialize` on it first (with no GIL: it starts Python and must
// leave the GIL held by this thread). Returns its result: empty on success, else the reason.
// Called once per process, by python_runtime.cc.
std::string StartPythonThread(const std::function<std::string()>& initialize);

// Queues a job (FIFO). Any thread; no GIL needed. Only after a successful start.
void SubmitPythonJob(std::unique_ptr<PythonJob> job);

// Wakes the thread so it takes the GIL once, which frees deferred releases. Any thread.
void WakePythonThread();

}  // namespace py_outliers
