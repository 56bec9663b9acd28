// Python's exit work, without finalizing: at the process's end the embedded interpreter does
// what `python` does before it exits (join non-daemon threads, run `atexit` handlers, flush
// sys.stdout and sys.stderr), but Py_Finalize is still never called (docs/architecture.md, "One
// interpreter per process").
//
// When: once per process, at whichever comes first of
//  - the main thread's environment teardown (a cleanup hook: the event loop ran dry), and
//  - C's exit(), which process.exit() and a fatal exception call without that teardown
//    (an std::atexit handler).
// A Worker's end runs neither: the interpreter belongs to the process.
//
// Where: on the Python thread, the interpreter's main thread, as `python` would. The caller
// waits at most PY_OUTLIERS_EXIT_TIMEOUT_MS (default 5000): a Python call still running or a
// handler that hangs must not hang Node's exit. Jobs still queued are dropped unrun.
#pragma once

#include <napi.h>

#include <cstdint>

namespace py_outliers {

// How long the exit waits for Python's exit work (PY_OUTLIERS_EXIT_TIMEOUT_MS, read by
// src/settings.ts). Once, at start.
void SetExitTimeout(int64_t ms);

// Once per process, after Python started: registers the std::atexit handler.
void InstallPythonExitHandler();

// For the main thread's environment only: runs the exit work at its teardown.
void RunPythonExitWorkAtTeardown(Napi::Env env);

}  // namespace py_outliers
