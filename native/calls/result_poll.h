// The JS side of the low-latency mode (PY_OUTLIERS_LOW_LATENCY_US, off by default;
// docs/threads.md): for a fixed window after each async call is submitted, the event loop polls for
// I/O instead of sleeping, so a result that arrives within the window is picked up without waking a
// sleeping thread (and, on a virtual machine, a halted vCPU).
//
// How: a libuv idle handle, while active, makes the loop poll with a zero timeout. It is started
// at each submit and stopped when no call is in flight or the window since the last submit has
// passed; unreferenced, so it never keeps the process alive. A call longer than the window
// costs the JS thread the whole window of CPU and then the usual wake-up: the bench shows what
// the mode costs beside what it saves. JS thread only, one per environment.
#pragma once

#include <uv.h>

#include <cstdint>

namespace py_outliers {

class ResultPoll {
 public:
  // Opens the handle on `loop`; Close() frees the object once libuv is done with it.
  static ResultPoll* Open(uv_loop_t* loop, int64_t window_ns);
  void Close();

  void Submitted();  // a call was submitted: poll until its window ends
  void Idle();       // no call is in flight: stop polling

 private:
  ResultPoll() = default;
  static void OnIdle(uv_idle_t* handle);

  uv_idle_t idle_{};
  int64_t window_ns_ = 0;
  uint64_t until_ns_ = 0;  // uv_hrtime() at which polling stops
};

}  // namespace py_outliers
