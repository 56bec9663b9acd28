#include "values/buffer_pin.h"

#include <v8.h>

#include <cstring>

namespace py_outliers {

BufferPin BufferPin::Of(napi_value typed_array) {
  // A napi_value is a v8::Local<v8::Value> in Node's implementation of Node-API
  // (js_native_api_v8.h does this same copy in V8LocalValueFromJsValue).
  static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>), "napi_value layout");
  v8::Local<v8::Value> value;
  std::memcpy(static_cast<void*>(&value), &typed_array, sizeof(typed_array));
  BufferPin pin;
  std::shared_ptr<v8::BackingStore> store = value.As<v8::TypedArray>()->Buffer()->GetBackingStore();
  pin.shrinkable_ = store->IsResizableByUserJavaScript() && !store->IsShared();
  pin.store_ = std::move(store);
  return pin;
}

}  // namespace py_outliers
