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

// What the start needs, read and checked by the TS layer (src/settings.ts) and passed to
// start() (addon/addon.cc): nothing here reads the environment.
struct StartSettings {
  std::string executable;          // the interpreter to behave as (src/native.ts chooses it)
  std::string package_python_dir;  // the package's python/ folder, first on sys.path
  int threads = 1;                 // Python threads for async calls (python_threads.h)
  int64_t low_latency_us = 0;      // the low-latency mode's window; 0: off
  bool malloc_tuning = true;       // raise glibc's malloc thresholds (TuneMalloc)
  int64_t exit_timeout_ms = 5000;  // how long the exit waits for Python's (python_exit.h)
};

// Starts Python and its threads (python_threads.h) if nobody has yet, and waits for it. Once
// Python runs, later settings are ignored. Any thread. Returns an empty string on success, else
// why Python could not start.
const std::string& EnsurePythonStarted(const StartSettings& settings);

// The package's helper module (python/py_outliers_runtime.py), for the life of the process.
// Only after a successful start; the GIL is needed to use it.
PyObject* RuntimeHelper();

// Facts about the running interpreter that only the C side knows.
struct NativeRuntimeFacts {
  std::string libpython;   // the libpython the addon loaded
  bool malloc_tuning;      // whether glibc's malloc thresholds were raised (docs/architecture.md,
                           // "malloc thresholds")
  int python_threads;      // how many Python threads run async calls
  int usable_cpus;         // the CPUs the process may use when Python started (cpu_budget.h)
  int64_t low_latency_ns;  // the low-latency mode's window; 0: off
};
const NativeRuntimeFacts& RuntimeFacts();

}  // namespace py_outliers
