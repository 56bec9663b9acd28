#include "detect_async.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "async_call.h"
#include "buffer_pin.h"
#include "detect_call.h"

namespace py_outliers {
namespace {

// The indices, copied out of Python on its thread, into a V8-allocated Int32Array on the JS
// thread (docs/architecture.md, "Results").
class IndicesOutcome : public AsyncOutcome {
 public:
  void Settle(Napi::Env env, napi_deferred deferred) override {
    Napi::Int32Array out = Napi::Int32Array::New(env, indices.size());
    std::copy(indices.begin(), indices.end(), out.Data());
    napi_resolve_deferred(env, deferred, out);
  }
  std::vector<int32_t> indices;
};

class DetectWork : public AsyncWork {
 public:
  DetectWork(BufferPin pin, const double* data, size_t length)
      : pin_(std::move(pin)), data_(data), length_(length) {}

  std::unique_ptr<AsyncOutcome> Run(PyObject* func) override {
    auto outcome = std::make_unique<IndicesOutcome>();
    std::vector<int32_t>& indices = outcome->indices;
    DetectOutcome detected = CallDetect(
        func, data_, length_, std::move(pin_), [] { return BufferPin(); },
        [&indices](size_t count) {
          indices.resize(count);
          return indices.data();
        });
    switch (detected.status) {
      case ResultStatus::kOk:
        return outcome;
      case ResultStatus::kPythonError:
        return PythonErrorOutcome(std::move(detected.python_error));
      case ResultStatus::kInvalid:
        break;
    }
    return ResultErrorOutcome(std::move(detected.why), std::move(detected.python_error));
  }

 private:
  BufferPin pin_;  // moves into the view's base when the call starts
  const double* data_;
  size_t length_;
};

}  // namespace

Napi::Value StartDetectAsync(Napi::Env env, const std::shared_ptr<PythonCallable>& callable,
                             Napi::TypedArray array, const double* data, size_t length,
                             bool with_id) {
  // Pinned now, on the JS thread: from here the memory lives until Python lets go of it,
  // whatever JS does to the array (collect, detach, transfer, abort).
  return StartAsyncCall(env, callable,
                        std::make_unique<DetectWork>(BufferPin::Of(array), data, length), with_id);
}

}  // namespace py_outliers
