#include "addon/addon_data.h"

#include <uv.h>

namespace py_outliers {

AddonData::AddonData(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  main_thread_ = loop == uv_default_loop();
}

void AddonData::AdoptThreadState(Napi::Env env) {
  if (thread_state_ != nullptr) return;
  // Made once per JS thread (docs/architecture.md, "Thread states"): PyThreadState_New also
  // registers it as this OS thread's state for the PyGILState API, and marks it as not to be freed
  // by PyGILState_Release, so every GilHold on this thread reuses it.
  PyThreadState* state = PyThreadState_New(PyInterpreterState_Main());
  if (state == nullptr) throw Napi::Error::New(env, "cannot create a Python thread state");
  if (PyGILState_GetThisThreadState() != state) {
    throw Napi::Error::New(env, "this thread already had a Python thread state");
  }
  thread_state_ = state;
}

AddonData::~AddonData() {
  // A Worker's thread ends with its environment: free its thread state, or every Worker would
  // leak one into the interpreter's list. Not on the main thread: its environment ends only as
  // the process exits, and taking the GIL then could wait on a long Python call.
  if (thread_state_ == nullptr || main_thread_) return;
  PyEval_RestoreThread(thread_state_);
  PyThreadState_Clear(thread_state_);
  PyThreadState_DeleteCurrent();  // also releases the GIL
}

}  // namespace py_outliers
