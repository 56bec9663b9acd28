#include "calls/async_call.h"

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "addon/addon_data.h"
#include "addon/js_errors.h"
#include "calls/call_control.h"
#include "calls/python_interrupt.h"
#include "calls/result_poll.h"
#include "runtime/python_runtime.h"
#include "runtime/python_threads.h"

namespace py_outliers {

// What the Python thread hands back: safe to move between threads.
struct Completion {
  uint64_t id = 0;
  std::string closed;  // non-empty: the callable was closed before the call could start
  std::unique_ptr<CallWork> work;
  CallOutcome outcome;
};

class AsyncChannel;
using ChannelRef = std::shared_ptr<AsyncChannel>;
void SettleOnJsThread(Napi::Env env, Napi::Function, ChannelRef* channel, Completion* completion);
// Results cross to the JS thread through node-addon-api's typed threadsafe function: one per
// environment, whose context is a strong reference to the channel (freed by its finalizer).
using ResultQueue = Napi::TypedThreadSafeFunction<ChannelRef, Completion, SettleOnJsThread>;

// One per environment. Owned jointly by the environment (AddonData) and by queued jobs, so
// the Python thread can always reach it; whether the environment is still there to receive
// results is `alive_`, read and written under `mutex_`.
class AsyncChannel : public std::enable_shared_from_this<AsyncChannel> {
 public:
  static ChannelRef Of(Napi::Env env) {
    AddonData* data = AddonData::Of(env);
    if (!data->async_channel) {
      auto channel = ChannelRef(new AsyncChannel());
      channel->Open(env);
      data->async_channel = channel;
    }
    return data->async_channel;
  }

  // JS thread: remembers the promise of call `id`; keeps the event loop alive while any
  // call is in flight, as pending fs or network work does, and no longer.
  uint64_t Add(Napi::Env env, napi_deferred deferred, std::shared_ptr<CallControl> control) {
    const uint64_t id = next_id_++;
    if (pending_.empty()) results_.Ref(env);
    pending_.emplace(id, Pending{deferred, std::move(control)});
    if (poll_ != nullptr) poll_->Submitted();
    return id;
  }

  // JS thread: an abort. Rejects call `id`'s promise with `error` now, whatever the call is
  // doing; a queued call then never runs, a running one is interrupted if Python can be, and
  // its result, whenever it comes, is dropped (Settle no longer finds it). False if the call
  // had settled already.
  bool Cancel(Napi::Env env, uint64_t id, Napi::Value error) {
    auto found = pending_.find(id);
    if (found == pending_.end()) return false;
    Pending pending = std::move(found->second);
    Forget(env, found);
    if (pending.control->Cancel()) RequestInterrupt(pending.control);
    napi_reject_deferred(env, pending.deferred, error);
    return true;
  }

  // Python thread (or any): passes a result to the JS thread, or drops it if the
  // environment is gone. Holding `mutex_` across the call keeps the threadsafe function
  // from being finalized in the middle of it (Finalize takes the same mutex).
  void Deliver(std::unique_ptr<Completion> completion) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!alive_) return;
    if (results_.NonBlockingCall(completion.get()) == napi_ok) {
      completion.release();  // now owned by the queue; SettleOnJsThread takes it back
    }
  }

  // JS thread: settles call `completion.id`'s promise, unless it was aborted.
  void Settle(Napi::Env env, Completion& completion) {
    auto found = pending_.find(completion.id);
    if (found == pending_.end()) return;  // aborted: rejected already
    napi_deferred deferred = found->second.deferred;
    Forget(env, found);
    if (!completion.closed.empty()) {
      napi_reject_deferred(env, deferred, MakeClosedError(env, completion.closed).Value());
      return;
    }
    try {
      napi_resolve_deferred(env, deferred,
                            SettleCall(env, completion.outcome, completion.work.get()));
    } catch (const Napi::Error& error) {
      // The call's error, or building its value failed (out of memory): either way it settles.
      napi_reject_deferred(env, deferred, error.Value());
    }
  }

 private:
  struct Pending {
    napi_deferred deferred;
    std::shared_ptr<CallControl> control;
  };
  using PendingMap = std::unordered_map<uint64_t, Pending>;

  AsyncChannel() = default;

  void Open(Napi::Env env) {
    auto* context = new ChannelRef(shared_from_this());
    try {
      results_ = ResultQueue::New(env, "py-outliers:async", 0, 1, context, Finalize);
    } catch (...) {
      delete context;
      throw;
    }
    alive_ = true;
    results_.Unref(env);  // idle: does not hold the process open
    uv_loop_t* loop = nullptr;
    if (RuntimeFacts().low_latency_ns > 0 && napi_get_uv_event_loop(env, &loop) == napi_ok) {
      poll_ = ResultPoll::Open(loop, RuntimeFacts().low_latency_ns);
    }
  }

  // JS thread: call `found` left the table; with none left, the process may exit.
  void Forget(Napi::Env env, PendingMap::iterator found) {
    pending_.erase(found);
    if (!pending_.empty()) return;
    results_.Unref(env);
    if (poll_ != nullptr) poll_->Idle();
  }

  // Runs when the environment tears the threadsafe function down (exit, Worker end), on its
  // JS thread.
  static void Finalize(Napi::Env, void*, ChannelRef* self) {
    if ((*self)->poll_ != nullptr) {
      (*self)->poll_->Close();
      (*self)->poll_ = nullptr;
    }
    {
      std::lock_guard<std::mutex> lock((*self)->mutex_);
      (*self)->alive_ = false;
    }
    delete self;
  }

  std::mutex mutex_;
  bool alive_ = false;  // under mutex_
  ResultQueue results_;
  ResultPoll* poll_ = nullptr;  // JS thread only; the low-latency mode's, else null
  // JS thread only. Ids stay below 2^53, so they travel to JS as exact numbers.
  uint64_t next_id_ = 0;
  PendingMap pending_;
};

void SettleOnJsThread(Napi::Env env, Napi::Function, ChannelRef* channel, Completion* data) {
  std::unique_ptr<Completion> completion(data);
  if (static_cast<napi_env>(env) == nullptr) return;  // being torn down: nobody to tell
  Napi::HandleScope scope(env);
  try {
    (*channel)->Settle(env, *completion);
  } catch (const Napi::Error& error) {
    // Nothing can be thrown out of this callback: report it as an uncaught exception rather
    // than lose it.
    napi_fatal_exception(env, error.Value());
  }
}

namespace {

// The job on the Python thread: the call's state, the function, and its work.
class AsyncJob : public PythonJob {
 public:
  AsyncJob(std::shared_ptr<PythonCallable> callable, ChannelRef channel, uint64_t id,
           std::shared_ptr<CallControl> control, std::unique_ptr<CallWork> work)
      : callable_(std::move(callable)), channel_(std::move(channel)), control_(std::move(control)) {
    completion_->id = id;
    completion_->work = std::move(work);
  }

  void Run() override {
    if (!control_->Start()) return;  // aborted while queued: never runs, rejected already
    if (callable_->closed()) {
      completion_->closed = callable_->closed_message();
    } else {
      CallOutcome& outcome = completion_->outcome;
      try {
        completion_->work->Run(callable_->func(), &outcome);
      } catch (const std::exception& error) {
        // Nothing may escape this thread (std::terminate), and the promise must settle: a
        // result too large to copy (std::bad_alloc) becomes Python's MemoryError.
        outcome.status = ResultStatus::kPythonError;
        outcome.python_error = {"MemoryError", error.what(),
                                std::string("MemoryError: ") + error.what() + "\n"};
      }
    }
    control_->Finish();
    channel_->Deliver(std::move(completion_));
  }

 private:
  std::shared_ptr<PythonCallable> callable_;
  ChannelRef channel_;
  std::shared_ptr<CallControl> control_;
  std::unique_ptr<Completion> completion_ = std::make_unique<Completion>();
};

}  // namespace

Napi::Value StartAsyncCall(Napi::Env env, const std::shared_ptr<PythonCallable>& callable,
                           std::unique_ptr<CallWork> work, bool with_id) {
  ChannelRef channel = AsyncChannel::Of(env);
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    throw Napi::Error::New(env, "cannot create a promise");
  }
  auto control = std::make_shared<CallControl>();
  const uint64_t id = channel->Add(env, deferred, control);
  SubmitPythonJob(
      std::make_unique<AsyncJob>(callable, channel, id, std::move(control), std::move(work)));
  if (!with_id) return Napi::Value(env, promise);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Value(env, promise));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(id)));
  return out;
}

Napi::Value SettledAsyncCall(Napi::Env env, Napi::Value value, bool with_id) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Resolve(value);
  if (!with_id) return deferred.Promise();
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, deferred.Promise());
  out.Set(1u, Napi::Number::New(env, -1));
  return out;
}

Napi::Value CancelAsyncCall(Napi::Env env, double id, Napi::Value error) {
  AddonData* data = AddonData::Of(env);
  const bool cancelled =
      data->async_channel && data->async_channel->Cancel(env, static_cast<uint64_t>(id), error);
  return Napi::Boolean::New(env, cancelled);
}

}  // namespace py_outliers
