// Keeping the memory behind a JS typed array alive for as long as Python can see it.
//
// Why not a napi_ref (docs/architecture.md, "The input view"): a reference keeps the ArrayBuffer
// *object* alive, but not its memory. Transferring the buffer (postMessage with a transfer list,
// structuredClone with transfer) detaches it and moves the memory to a new owner, possibly in
// another Worker, which frees it when *it* is collected; a Python view would then read freed
// memory. V8's BackingStore is the memory itself, reference counted and safe to release on any
// thread, so holding it is a pin that survives detach, transfer, GC and even the Worker's teardown.
// It is the only V8 (non-Node-API) call in the addon: every binary, built from source or
// prebuilt, is built for one Node ABI (NODE_MODULE_VERSION) against that Node line's headers
// (docs/install.md), and loads only into it, so the V8 ABI is the one it runs with.
#pragma once

#include <node_api.h>

#include <memory>

namespace py_outliers {

class BufferPin {
 public:
  BufferPin() = default;
  // `typed_array` must be a live (not detached) TypedArray; JS thread only.
  static BufferPin Of(napi_value typed_array);
  bool empty() const { return store_ == nullptr; }
  // Whether JS can shrink the memory (a resizable ArrayBuffer; a growable SharedArrayBuffer
  // only grows, so a view of its present length stays valid).
  bool shrinkable() const { return shrinkable_; }

 private:
  std::shared_ptr<void> store_;  // a std::shared_ptr<v8::BackingStore>, type-erased
  bool shrinkable_ = false;
};

}  // namespace py_outliers
