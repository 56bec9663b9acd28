#include "completion_poll.h"

#include <algorithm>
#include <cerrno>

#ifdef __linux__
#include <sys/timerfd.h>
#include <unistd.h>
#endif

namespace py_outliers {
namespace {

// How long before the expected end the loop starts polling, at least: the timer's own wake-up
// must land before the call's end, and on a halted vCPU it takes ~50-100 us, plus the kernel's
// default timer slack (50 us). Calls expected to take less are polled for from their start.
constexpr int64_t kLeadNs = 200'000;
// How far from the expected end polling may reach, on either side, at most (see Reach).
constexpr int64_t kMaxReachNs = 1'000'000;

// How far from the expected end polling may reach on either side: an eighth of the call (the
// budget idle_spin.h gives the Python side; long calls vary more in absolute terms), at most
// kMaxReachNs, at least kLeadNs. Polling goes on this long past the expected end. Why a cap:
// what polling saves is one wake-up, ~0.1 ms, whatever the call's length; at 10M values (~52 ms
// calls) an eighth of the call was 6.5 ms of polling, and the JS thread spent 1.8-4.0 ms of CPU
// per call (0.6-1.2 ms with this cap, for a hop 20-50 us longer: alternating processes).
int64_t Reach(int64_t expected_ns) {
  return std::max(kLeadNs, std::min(expected_ns / 8, kMaxReachNs));
}

// How long before the expected end polling starts: twice the calls' spread, so that the calls
// that end early end inside the window too, but never beyond Reach, nor less than kLeadNs.
// Why: calls vary, and one that ends before the loop polls costs a wake-up of the JS thread's
// halted vCPU. On this 2-vCPU VM 1M-value calls took 2.0-2.6 ms (10th to 90th percentile), and with
// a fixed 200 us lead (about 85 us of polling, once the timer's own wake-up is paid) 16-40% of them
// ended before the loop polled; from there to the awaiting code took 70-134 us against 23-40 us
// when polled (medians, three processes). With this lead: 5-16% (three alternating pairs), and
// the JS thread's CPU per call 222-235 us against 221-225 us.
int64_t Lead(const CallDurations::Estimate& estimate) {
  return std::min(Reach(estimate.expected_ns), std::max(kLeadNs, 2 * estimate.spread_ns));
}

}  // namespace

CompletionPoll* CompletionPoll::Open(uv_loop_t* loop) {
  auto* self = new CompletionPoll();
  uv_idle_init(loop, &self->idle_);
  self->idle_.data = self;
  uv_unref(reinterpret_cast<uv_handle_t*>(&self->idle_));
  self->open_handles_ = 1;
#ifdef __linux__
  self->timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (self->timer_fd_ >= 0) {
    if (uv_poll_init(loop, &self->timer_, self->timer_fd_) == 0) {
      self->timer_.data = self;
      uv_unref(reinterpret_cast<uv_handle_t*>(&self->timer_));
      uv_poll_start(&self->timer_, UV_READABLE, OnTimer);
      self->open_handles_++;
    } else {
      close(self->timer_fd_);
      self->timer_fd_ = -1;
    }
  }
#endif
  return self;
}

void CompletionPoll::Close() {
  Stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), OnClosed);
  if (timer_fd_ >= 0) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnClosed);
}

void CompletionPoll::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<CompletionPoll*>(handle->data);
  if (--self->open_handles_ > 0) return;
#ifdef __linux__
  if (self->timer_fd_ >= 0) close(self->timer_fd_);
#endif
  delete self;
}

void CompletionPoll::Expect(int64_t start_ns, CallDurations::Estimate estimate) {
  Stop();
  const int64_t expected_ns = estimate.expected_ns;
  if (expected_ns <= 0) return;
  const int64_t end = start_ns + expected_ns;
  const int64_t lead = Lead(estimate);
  poll_until_ = end + Reach(expected_ns);
  if (expected_ns <= lead) {
    StartPolling();
    return;
  }
  if (timer_fd_ < 0) return;  // without a timer, only short calls are polled for
#ifdef __linux__
  const int64_t wake = end - lead;
  itimerspec when{};
  when.it_value.tv_sec = wake / 1'000'000'000;
  when.it_value.tv_nsec = wake % 1'000'000'000;
  timer_armed_ = timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &when, nullptr) == 0;
#endif
}

void CompletionPoll::Stop() {
  if (polling_) {
    uv_idle_stop(&idle_);
    polling_ = false;
  }
#ifdef __linux__
  if (timer_armed_) {
    const itimerspec never{};
    timerfd_settime(timer_fd_, 0, &never, nullptr);
    timer_armed_ = false;
  }
#endif
}

void CompletionPoll::StartPolling() {
  if (polling_) return;
  polling_ = true;
  uv_idle_start(&idle_, OnIdle);
}

// Runs once per loop iteration while polling: the loop itself does the polling (an active idle
// handle makes it look for I/O with a zero timeout), this only decides when to stop.
void CompletionPoll::OnIdle(uv_idle_t* handle) {
  auto* self = static_cast<CompletionPoll*>(handle->data);
  if (Now() >= self->poll_until_) self->Stop();
}

void CompletionPoll::OnTimer(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<CompletionPoll*>(handle->data);
  uint64_t expirations = 0;
#ifdef __linux__
  while (read(self->timer_fd_, &expirations, sizeof expirations) < 0 && errno == EINTR) {
  }
#endif
  // No expiration to read: this readiness was collected in the same loop turn as the result of
  // the call the timer was armed for, and that result came first. Settling the call disarmed
  // the timer (which drops a pending expiration), and the next call, made in that same turn,
  // armed it again: polling now would cover the whole of the next call. Measured before this
  // check, for 29 of 250 one-at-a-time 1M-value calls on this VM.
  if (status < 0 || !self->timer_armed_ || expirations == 0) return;
  self->timer_armed_ = false;
  self->StartPolling();
}

}  // namespace py_outliers
