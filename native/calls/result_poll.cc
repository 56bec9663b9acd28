#include "calls/result_poll.h"

namespace py_outliers {

ResultPoll* ResultPoll::Open(uv_loop_t* loop, int64_t window_ns) {
  auto* self = new ResultPoll();
  self->window_ns_ = window_ns;
  uv_idle_init(loop, &self->idle_);
  self->idle_.data = self;
  uv_unref(reinterpret_cast<uv_handle_t*>(&self->idle_));
  return self;
}

void ResultPoll::Close() {
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_),
           [](uv_handle_t* handle) { delete static_cast<ResultPoll*>(handle->data); });
}

void ResultPoll::Submitted() {
  until_ns_ = uv_hrtime() + static_cast<uint64_t>(window_ns_);
  uv_idle_start(&idle_, OnIdle);  // no-op if already active
}

void ResultPoll::Idle() { uv_idle_stop(&idle_); }

void ResultPoll::OnIdle(uv_idle_t* handle) {
  auto* self = static_cast<ResultPoll*>(handle->data);
  if (uv_hrtime() >= self->until_ns_) uv_idle_stop(handle);
}

}  // namespace py_outliers
