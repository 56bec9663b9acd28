// Releasing Python references from threads that must not wait for the GIL.
//
// Py_DECREF needs the GIL. The JS thread must never block on it while the Python thread runs
// a long call (a GC finalizer of an Outliers object, close() with async calls in flight), so
// such owners hand the object to ReleaseWhenGilHeld: if this thread holds the GIL it is freed
// now, otherwise it is queued and freed by the next thread to let go of the GIL (GilHold),
// or by the Python thread, which is woken for it.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace py_outliers {

void ReleaseWhenGilHeld(PyObject* obj);  // any thread
void DrainDeferredReleases();            // GIL held

}  // namespace py_outliers
