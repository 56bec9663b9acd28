// Scoped GIL ownership.
//
// GilHold takes the GIL for a scope on any thread. It uses PyGILState_Ensure, which finds the
// thread's own PyThreadState: JS threads get one pinned for their lifetime
// (AddonData::AdoptThreadState, addon/addon_data.h) so that Ensure/Release does not create and
// destroy a thread state on every call (docs/architecture.md, "Thread states", ~25 us per call from
// a Worker). Holds nest on one thread.
//
// When the outermost hold ends it first frees the Python objects whose owners died without
// the GIL (deferred_release.h): that is the cheapest moment, the GIL is ours already.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace py_outliers {

void DrainDeferredReleases();  // deferred_release.cc

class GilHold {
 public:
  GilHold() : state_(PyGILState_Ensure()) {}
  ~GilHold() {
    if (state_ == PyGILState_UNLOCKED) DrainDeferredReleases();
    PyGILState_Release(state_);
  }
  GilHold(const GilHold&) = delete;
  GilHold& operator=(const GilHold&) = delete;

 private:
  PyGILState_STATE state_;
};

}  // namespace py_outliers
