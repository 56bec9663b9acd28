// The process's Python threads: the threads that start CPython and run async calls off the JS
// threads.
//
// Why threads of our own rather than the libuv pool: a pool thread parked on the GIL is one
// fewer for fs, dns and crypto work, and each of our threads keeps one Python thread state for
// its whole life (NOTES.md item 19). Why more than one: numpy releases the GIL inside its C
// loops (NOTES.md item 27), so calls on large arrays overlap on several cores; the count is a
// process-wide setting, fixed when Python starts, and 1 gives strictly one call at a time for
// functions that are not reentrant. Thread 0 *is* the interpreter's main thread:
// Py_InitializeFromConfig runs there, so the main thread state never belongs to a JS thread (a
// Worker) that may go away, and the exit work (threading._shutdown) runs there too.
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
  // Whether the job spends most of its time with the GIL released (numpy's loops on a large
  // array): such jobs go to an idle thread at once, others to thread 0 unless it is busy
  // (python_threads.cc, Claimable).
  virtual bool RunsMostlyWithoutGil() const { return false; }
};

struct PythonThreadsOptions {
  int count = 1;             // >= 1
  int64_t idle_spin_ns = 0;  // how long an idle thread polls for a job (idle_spin.h); 0: never
};

// Starts the threads and runs `initialize` on thread 0 first (with no GIL: it starts Python and
// must leave the GIL held by that thread), then starts the others. Returns `initialize`'s
// result: empty on success, else the reason (and no other thread is started). Called once per
// process, by python_runtime.cc.
std::string StartPythonThreads(const PythonThreadsOptions& options,
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
