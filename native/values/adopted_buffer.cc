#include "values/adopted_buffer.h"

#include <v8.h>

#include <atomic>
#include <cstring>

namespace py_outliers {
namespace {
std::atomic<bool> simulate_refusal{false};
}  // namespace

void SimulateNoExternalBuffers(bool refused) {
  simulate_refusal.store(refused, std::memory_order_relaxed);
}

napi_value AdoptIntoArrayBuffer(napi_env, void* data, size_t length, AdoptedDeleter deleter,
                                void* deleter_data) {
#ifdef V8_ENABLE_SANDBOX
  // Memory outside the sandbox cannot back an ArrayBuffer here (Node-API reports the same
  // case as napi_no_external_buffers_allowed).
  return nullptr;
#endif
  if (simulate_refusal.load(std::memory_order_relaxed)) return nullptr;
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(data, length, deleter, deleter_data);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
  // The reverse of BufferPin::Of (buffer_pin.cc): a napi_value is the Local's one pointer, in
  // the handle scope Node-API has open for this callback.
  static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>), "napi_value layout");
  napi_value out = nullptr;
  v8::Local<v8::Value> value = buffer;
  std::memcpy(static_cast<void*>(&out), &value, sizeof(out));
  return out;
}

}  // namespace py_outliers
