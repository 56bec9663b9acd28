// The state of one cancellable async call, shared by the JS thread (which may abort it) and
// the Python thread that runs it.
//
// One atomic decides every race between an abort and the call's progress:
//   queued  --Start-->   running  --Finish--> finished
//   queued  --Cancel-->  cancelled            (never runs in Python)
//   running --Cancel-->  interrupting --Finish--> finished
// A call is interrupted (python_interrupt.h) only while it is `interrupting`, checked with the
// GIL held; Start and Finish run with the GIL held on the call's thread, so an exception raised
// into that thread always lands inside this call, or is cleared by Finish before the thread
// runs any other Python code.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <atomic>

namespace py_outliers {

class CallControl {
 public:
  enum class State { kQueued, kRunning, kInterrupting, kFinished, kCancelled };

  // Python thread, GIL held: the call may start, unless it was cancelled while queued.
  bool Start() {
    thread_id_ = PyThread_get_thread_ident();
    State expected = State::kQueued;
    return state_.compare_exchange_strong(expected, State::kRunning, std::memory_order_acq_rel);
  }

  // Python thread, GIL held, right after the call and before anything else runs Python code:
  // an interruption that was asked for but did not land would otherwise fire in what comes
  // next on this thread (a destructor, the next call).
  void Finish() {
    if (state_.exchange(State::kFinished, std::memory_order_acq_rel) == State::kInterrupting) {
      PyThreadState_SetAsyncExc(thread_id_, nullptr);
    }
  }

  // JS thread. Returns true if the call is running and needs interrupting; a queued call is
  // cancelled here and never runs, a finished one is left alone.
  bool Cancel() {
    State expected = State::kQueued;
    if (state_.compare_exchange_strong(expected, State::kCancelled, std::memory_order_acq_rel)) {
      return false;
    }
    expected = State::kRunning;
    return state_.compare_exchange_strong(expected, State::kInterrupting,
                                          std::memory_order_acq_rel);
  }

  // Interrupter, GIL held: whether the call still runs and wants interrupting, and where.
  bool WantsInterrupt() const {
    return state_.load(std::memory_order_acquire) == State::kInterrupting;
  }
  unsigned long thread_id() const { return thread_id_; }

 private:
  std::atomic<State> state_{State::kQueued};
  unsigned long thread_id_ = 0;  // written by Start before the state says running
};

}  // namespace py_outliers
