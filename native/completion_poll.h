// Keeping the JS thread awake for the end of a lone async call.
//
// Why: with one detectAsync in flight, the JS thread has nothing to do and sleeps in epoll; so
// does its core. On a virtual machine an idle vCPU halts (a VM exit), and waking it again costs
// the call far more than the hop itself: measured here, from the Python function's return to
// the awaiting code running again, 24 us at 1k values, 38 us at 100k and 74 us at 1M, against
// 4-6 us with the event loop kept polling. That wake-up was nearly all of what detectAsync
// cost over detect at every size (NOTES.md item 28's "~60 us").
//
// What: while exactly one async call is in flight and its end is near, the event loop polls (a
// libuv idle handle makes it check for I/O without blocking) instead of sleeping. "Near" comes
// from how long the same function took on inputs of the same size before, and how much that
// varied (CallDurations): a short call is polled for from the start; for a longer one a timerfd
// wakes the loop shortly before the expected end, the wake-up's cost landing while Python still
// works. Polling stops when the call settles, or a little after its expected end (a
// misprediction costs a bounded spin, then the usual sleep).
//
// What it costs: CPU on the JS thread, at most the lead plus the slack per call and none while
// idle; nothing with several calls in flight (the cores then belong to the Python threads, and
// the loop wakes for each result while the others run); nothing on a single core, where a
// polling JS thread would take the core from the Python thread it waits for. Linux (timerfd);
// elsewhere only short calls are polled for. JS thread only, one per environment.
#pragma once

#include <uv.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace py_outliers {

// How long lone async calls of one function took (submit to settle), by size class: the bit
// length of the input's length, so 1k and 1.5k share a class and 1k and 4k do not. Keeps how
// far the calls stray from their typical duration too: the polling window must reach that far.
class CallDurations {
 public:
  struct Estimate {
    int64_t expected_ns = 0;  // 0: no estimate yet
    int64_t spread_ns = 0;    // the mean distance of a call's duration from expected_ns
  };
  Estimate Expected(size_t length) const { return estimates_[Class(length)]; }
  void Learn(size_t length, int64_t ns) {
    Estimate& estimate = estimates_[Class(length)];
    if (estimate.expected_ns == 0) {
      estimate.expected_ns = ns;
      return;
    }
    // Running means over the last few calls: they follow a change of input within a few
    // calls, while one slow call (a GC in Python, a page fault storm) moves them by a quarter.
    const int64_t distance =
        ns > estimate.expected_ns ? ns - estimate.expected_ns : estimate.expected_ns - ns;
    estimate.spread_ns = (3 * estimate.spread_ns + distance) / 4;
    estimate.expected_ns = (3 * estimate.expected_ns + ns) / 4;
  }

 private:
  static size_t Class(size_t length) {
    size_t bits = 0;
    while (length != 0 && bits < 63) {
      length >>= 1;
      bits++;
    }
    return bits;
  }
  std::array<Estimate, 64> estimates_{};
};

class CompletionPoll {
 public:
  // Opens the handles on `loop` (unreferenced: they never keep the process alive). Close()
  // frees the object once libuv is done with them.
  static CompletionPoll* Open(uv_loop_t* loop);
  void Close();

  // The clock of Expect and of the timer: libuv's, CLOCK_MONOTONIC in ns on Linux, as the
  // timerfd's.
  static int64_t Now() { return static_cast<int64_t>(uv_hrtime()); }

  // The one call in flight started at `start_ns` and is expected to take about
  // `estimate.expected_ns` (0: unknown, so nothing is done).
  void Expect(int64_t start_ns, CallDurations::Estimate estimate);
  // The call settled, or others joined it: polling and the timer stop.
  void Stop();

 private:
  CompletionPoll() = default;
  static void OnIdle(uv_idle_t* handle);
  static void OnTimer(uv_poll_t* handle, int status, int events);
  static void OnClosed(uv_handle_t* handle);
  void StartPolling();

  uv_idle_t idle_{};
  uv_poll_t timer_{};
  int timer_fd_ = -1;
  int open_handles_ = 0;
  int64_t poll_until_ = 0;  // while polling: when to give up
  bool polling_ = false;
  bool timer_armed_ = false;
};

}  // namespace py_outliers
