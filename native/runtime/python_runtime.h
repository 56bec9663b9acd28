// Starting the embedded CPython: once per process, never stopped.
//
// The interpreter is per process while the addon is loaded once per environment (the main
// thread and each worker_threads Worker), so the start is guarded by std::call_once and its
// outcome, success or the reason for failure, is shared by every later caller: a failed start
// is not retried, because a half-initialized interpreter cannot be trusted to start again.
// Py_Finalize is never called (docs/architecture.md, "One interpreter per process"): numpy cannot
// be imported a second time, and finalizing while another thread waits for the GIL crashes.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <string>

namespace py_outliers {

// The most Python threads a process may ask for (python_threads.h).
constexpr int kMaxPythonThreads = 64;

// Starts Python and its threads (python_threads.h) if nobody has yet, and waits for it.
// `executable` is the interpreter to behave as (src/interpreter.ts chooses it);
// `package_python_dir` (the package's python/ folder) goes first on sys.path;
// `requested_threads` (> 0) overrides $PY_OUTLIERS_THREADS. Both are ignored once Python runs.
// Any thread. Returns an empty string on success, else why Python could not start.
const std::string& EnsurePythonStarted(const std::string& executable,
                                       const std::string& package_python_dir,
                                       int requested_threads);

// The package's helper module (python/py_outliers_runtime.py), for the life of the process.
// Only after a successful start; the GIL is needed to use it.
PyObject* RuntimeHelper();

// Facts about the running interpreter that only the C side knows.
struct NativeRuntimeFacts {
  std::string libpython;  // the libpython the addon loaded
  bool malloc_tuning;     // whether glibc's malloc thresholds were raised (docs/architecture.md,
                          // "malloc thresholds")
  int python_threads;     // how many Python threads run async calls
  int usable_cpus;        // the CPUs the process may use when Python started (cpu_budget.h)
  int64_t spin_ns;        // the low-latency mode's window (PY_OUTLIERS_SPIN_US); 0: off
};
const NativeRuntimeFacts& RuntimeFacts();

}  // namespace py_outliers
