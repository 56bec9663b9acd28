#include "detect_async.h"

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "addon.h"
#include "buffer_pin.h"
#include "call_control.h"
#include "completion_poll.h"
#include "detect_call.h"
#include "python_interrupt.h"
#include "python_runtime.h"
#include "python_threads.h"

namespace py_outliers {

// What the Python thread hands back: plain data only, safe to move between threads.
struct Completion {
  uint64_t id = 0;
  bool closed = false;  // the detector was closed before the call could start
  DetectOutcome outcome;
  std::vector<int32_t> indices;
};

// One per environment. Owned jointly by the environment (AddonData) and by queued jobs, so
// the Python thread can always reach it; whether the environment is still there to receive
// results is `alive_`, read and written under `mutex_`.
class AsyncChannel : public std::enable_shared_from_this<AsyncChannel> {
 public:
  static std::shared_ptr<AsyncChannel> Of(Napi::Env env) {
    AddonData* data = AddonData::Of(env);
    if (!data->async_channel) {
      auto channel = std::shared_ptr<AsyncChannel>(new AsyncChannel());
      channel->Open(env);
      data->async_channel = channel;
    }
    return data->async_channel;
  }

  // JS thread: remembers the promise of call `id`; keeps the event loop alive while any
  // call is in flight, as pending fs or network work does, and no longer.
  uint64_t Add(Napi::Env env, napi_deferred deferred, std::shared_ptr<CallControl> control,
               std::shared_ptr<Detector> detector, size_t length) {
    const uint64_t id = next_id_++;
    const bool lone = pending_.empty();
    pending_.emplace(id, Pending{deferred, std::move(control), std::move(detector), length,
                                 CompletionPoll::Now(), lone});
    if (lone) {
      napi_ref_threadsafe_function(env, tsfn_);
    } else {
      // The call alone until now has company: its duration would lie. (Any others had it.)
      if (pending_.size() == 2) {
        for (auto& [other, pending] : pending_) pending.lone = false;
      }
    }
    return id;
  }

  // JS thread, once call `id` has been submitted: if it is alone in flight, its end is polled
  // for (completion_poll.h); if others are in flight too, nothing is. After the submit, not in
  // Add: this arms or disarms a timer, a system call that reprograms the vCPU's timer, and the
  // Python thread waited for it. On this VM one-at-a-time 300k-value calls started 14-17 us
  // after detectAsync with the timer armed first, 5 us with it armed after (3 us with no timer).
  void WatchEnd(uint64_t id) {
    if (poll_ == nullptr) return;
    auto found = pending_.find(id);
    if (found == pending_.end()) return;
    const Pending& pending = found->second;
    if (pending.lone) {
      poll_->Expect(pending.start_ns, pending.detector->durations().Expected(pending.length));
    } else {
      poll_->Stop();
    }
  }

  // JS thread: an abort. Rejects call `id`'s promise with `error` now, whatever the call is
  // doing; a queued call then never runs, a running one is interrupted if Python can be, and
  // its result, whenever it comes, is dropped (Settle no longer finds it). False if the call
  // had settled already.
  bool Cancel(Napi::Env env, uint64_t id, Napi::Value error) {
    auto found = pending_.find(id);
    if (found == pending_.end()) return false;
    Pending pending = std::move(found->second);
    pending_.erase(found);
    Forget(env);
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
    if (napi_call_threadsafe_function(tsfn_, completion.get(), napi_tsfn_nonblocking) == napi_ok) {
      completion.release();  // now owned by the queue; CallJs takes it back
    }
  }

 private:
  AsyncChannel() = default;

  void Open(Napi::Env env) {
    // The threadsafe function's context and finalizer data hold a strong reference, so the
    // channel outlives every CallJs; the finalizer drops it.
    auto* self = new std::shared_ptr<AsyncChannel>(shared_from_this());
    napi_status status = napi_create_threadsafe_function(
        env, nullptr, nullptr, Napi::String::New(env, "py-outliers:detectAsync"), 0, 1, self,
        Finalize, self, CallJs, &tsfn_);
    if (status != napi_ok) {
      delete self;
      throw Napi::Error::New(env, "cannot create the async channel");
    }
    alive_ = true;
    napi_unref_threadsafe_function(env, tsfn_);  // idle: does not hold the process open
    uv_loop_t* loop = nullptr;
    if (RuntimeFacts().poll_completions && napi_get_uv_event_loop(env, &loop) == napi_ok) {
      poll_ = CompletionPoll::Open(loop);
    }
  }

  // JS thread: call(s) left the table. Whatever remains was not predicted: stop polling.
  void Forget(Napi::Env env) {
    if (poll_ != nullptr) poll_->Stop();
    if (pending_.empty()) napi_unref_threadsafe_function(env, tsfn_);
  }

  // Runs when the environment tears the threadsafe function down (exit, Worker end), on its
  // JS thread.
  static void Finalize(napi_env, void* data, void*) {
    auto* self = static_cast<std::shared_ptr<AsyncChannel>*>(data);
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

  static void CallJs(napi_env raw_env, napi_value, void* context, void* data) {
    std::unique_ptr<Completion> completion(static_cast<Completion*>(data));
    if (raw_env == nullptr) return;  // being torn down: nobody to tell
    auto& self = *static_cast<std::shared_ptr<AsyncChannel>*>(context);
    Napi::Env env(raw_env);
    Napi::HandleScope scope(env);
    try {
      self->Settle(env, *completion);
    } catch (const Napi::Error& error) {
      // Building the value failed (out of memory): nothing can be thrown out of this
      // callback, so report it as an uncaught exception rather than lose it.
      napi_fatal_exception(raw_env, error.Value());
    }
  }

  void Settle(Napi::Env env, const Completion& completion) {
    auto found = pending_.find(completion.id);
    if (found == pending_.end()) return;  // aborted: rejected already
    napi_deferred deferred = found->second.deferred;
    if (found->second.lone && !completion.closed &&
        completion.outcome.status == ResultStatus::kOk) {
      found->second.detector->durations().Learn(found->second.length,
                                                CompletionPoll::Now() - found->second.start_ns);
    }
    pending_.erase(found);
    Forget(env);

    if (completion.closed) {
      napi_reject_deferred(env, deferred, MakeClosedError(env).Value());
      return;
    }
    switch (completion.outcome.status) {
      case ResultStatus::kOk: {
        // Allocated by V8 and copied into (NOTES.md item 14).
        Napi::Int32Array out = Napi::Int32Array::New(env, completion.indices.size());
        std::copy(completion.indices.begin(), completion.indices.end(), out.Data());
        napi_resolve_deferred(env, deferred, out);
        return;
      }
      case ResultStatus::kPythonError:
        napi_reject_deferred(env, deferred,
                             MakePythonError(env, completion.outcome.python_error).Value());
        return;
      case ResultStatus::kInvalid:
        napi_reject_deferred(env, deferred, MakeResultError(env, completion.outcome.why).Value());
        return;
    }
  }

  std::mutex mutex_;
  bool alive_ = false;  // under mutex_
  napi_threadsafe_function tsfn_ = nullptr;
  CompletionPoll* poll_ = nullptr;  // JS thread only; null if not polling (completion_poll.h)
  // JS thread only. Ids stay below 2^53, so they travel to JS as exact numbers.
  struct Pending {
    napi_deferred deferred;
    std::shared_ptr<CallControl> control;
    std::shared_ptr<Detector> detector;
    size_t length;
    int64_t start_ns;  // CompletionPoll::Now() at submission
    bool lone;         // alone in flight all along: how long it took is the call's own time
  };
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Pending> pending_;
};

namespace {

constexpr size_t kManyValues = 65'536;

class DetectJob : public PythonJob {
 public:
  DetectJob(std::shared_ptr<Detector> detector, std::shared_ptr<AsyncChannel> channel, uint64_t id,
            std::shared_ptr<CallControl> control, BufferPin pin, const double* data, size_t length)
      : detector_(std::move(detector)),
        channel_(std::move(channel)),
        control_(std::move(control)),
        pin_(std::move(pin)),
        data_(data),
        length_(length) {
    completion_->id = id;
  }

  void Run() override {
    if (!control_->Start()) return;  // aborted while queued: never runs, rejected already
    if (detector_->closed()) {
      completion_->closed = true;
    } else {
      std::vector<int32_t>& indices = completion_->indices;
      try {
        completion_->outcome = CallDetect(
            detector_->func(), data_, length_, std::move(pin_), [] { return BufferPin(); },
            [&indices](size_t count) {
              indices.resize(count);
              return indices.data();
            });
      } catch (const std::exception& error) {
        // Nothing may escape this thread (std::terminate), and the promise must settle: a
        // result too large to copy (std::bad_alloc) becomes Python's MemoryError.
        completion_->outcome.status = ResultStatus::kPythonError;
        completion_->outcome.python_error = {"MemoryError", error.what(),
                                             std::string("MemoryError: ") + error.what() + "\n"};
      }
    }
    control_->Finish();
    channel_->Deliver(std::move(completion_));
  }

  // numpy releases the GIL in its loops over more than ~500 elements (NOTES.md item 27), but
  // only at this size do the loops outweigh the Python glue between them: measured, two threads
  // gave 1.38x the calls of one at 100k values and 0.57x at 1k.
  bool RunsMostlyWithoutGil() const override { return length_ >= kManyValues; }

 private:
  std::shared_ptr<Detector> detector_;
  std::shared_ptr<AsyncChannel> channel_;
  std::shared_ptr<CallControl> control_;
  BufferPin pin_;  // moves into the view's base when the call starts
  const double* data_;
  size_t length_;
  std::unique_ptr<Completion> completion_ = std::make_unique<Completion>();
};

}  // namespace

Napi::Value StartDetectAsync(Napi::Env env, const std::shared_ptr<Detector>& detector,
                             Napi::TypedArray array, const double* data, size_t length,
                             bool with_id) {
  std::shared_ptr<AsyncChannel> channel = AsyncChannel::Of(env);
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    throw Napi::Error::New(env, "cannot create a promise");
  }
  auto control = std::make_shared<CallControl>();
  const uint64_t id = channel->Add(env, deferred, control, detector, length);
  // Pinned now, on the JS thread: from here the memory lives until Python lets go of it,
  // whatever JS does to the array (collect, detach, transfer, abort).
  SubmitPythonJob(std::make_unique<DetectJob>(detector, channel, id, std::move(control),
                                              BufferPin::Of(array), data, length));
  channel->WatchEnd(id);
  if (!with_id) return Napi::Value(env, promise);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Value(env, promise));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(id)));
  return out;
}

Napi::Value CancelDetectAsync(Napi::Env env, double id, Napi::Value error) {
  AddonData* data = AddonData::Of(env);
  const bool cancelled =
      data->async_channel && data->async_channel->Cancel(env, static_cast<uint64_t>(id), error);
  return Napi::Boolean::New(env, cancelled);
}

}  // namespace py_outliers
