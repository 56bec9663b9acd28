// How long an idle Python thread polls for the next job before it sleeps.
//
// Why poll at all: a thread asleep on a condition variable costs the *submitter* a futex wake
// (on a virtual machine an inter-processor interrupt, a VM exit) and costs the call the
// sleeper's wake-up latency: measured here, 8 us to submit and 18 us until the Python thread
// runs, for every detectAsync made one at a time. A thread that polls a flag for a few tens of
// microseconds after its last job takes the next one within a cache-line transfer.
//
// Why adaptive: polling burns a core. The window follows the gaps between jobs the way Linux's
// cpuidle haltpoll governor does for idle CPUs: when a job arrives within the maximum window
// after the thread went idle, the window grows (so the next such gap is polled through); when
// the thread sleeps longer than the maximum, it shrinks, down to zero. A steady stream of calls
// is polled for; an idle process polls for nothing, and a process whose calls come rarely polls
// for at most a few windows after each burst. Not thread safe: one per pool, under its lock.
#pragma once

#include <algorithm>
#include <cstdint>

namespace py_outliers {

class IdleSpin {
 public:
  explicit IdleSpin(int64_t max_ns) : max_ns_(std::max<int64_t>(max_ns, 0)) {}

  // The longest window after a job that ran for `job_ns`: the configured maximum, or an eighth
  // of a longer job, up to kLongJobMaxNs. Why: one call at a time on large inputs leaves gaps
  // of 0.15-0.3 ms between calls on this VM (the result's trip to JS, the next submit), longer
  // than the default 100 us, so the thread slept and each call paid a wake-up (~70 us at 1M
  // values). An eighth bounds what polling costs to 12.5% of the work it follows.
  int64_t Limit(int64_t job_ns) const {
    if (max_ns_ == 0) return 0;
    return std::max(max_ns_, std::min(job_ns / 8, kLongJobMaxNs));
  }

  // How long to poll now, given Limit(). 0: go straight to sleep.
  int64_t window_ns(int64_t limit_ns) const { return std::min(window_ns_, limit_ns); }

  // The idle period that just ended lasted `idle_ns` (from the end of the last job to the
  // arrival of this one, or to a wake-up for another reason); `limit_ns` is its Limit().
  void Learn(int64_t idle_ns, int64_t limit_ns) {
    if (limit_ns == 0) return;
    if (idle_ns > limit_ns) {
      window_ns_ /= kShrink;
      if (window_ns_ < kGrowStartNs) window_ns_ = 0;
    } else if (idle_ns > window_ns_) {
      window_ns_ =
          std::min(limit_ns, std::max(window_ns_ * kGrow, std::min(kGrowStartNs, limit_ns)));
    }
  }

 private:
  static constexpr int64_t kGrow = 2;
  static constexpr int64_t kShrink = 2;
  static constexpr int64_t kGrowStartNs = 10'000;
  static constexpr int64_t kLongJobMaxNs = 1'000'000;
  int64_t max_ns_;
  int64_t window_ns_ = 0;
};

}  // namespace py_outliers
