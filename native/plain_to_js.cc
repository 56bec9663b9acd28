#include "plain_to_js.h"

#include <atomic>
#include <cstring>

#include "python_to_plain.h"

namespace py_outliers {
namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;
std::atomic<bool> simulate_refusal{false};

// What an external ArrayBuffer owns: a handed-off ndarray or a copy, and its size for V8's
// external memory accounting.
struct ExternalMemory {
  KeptPyObject owner;
  MallocBuffer copy;
  int64_t bytes = 0;
};

void FreeExternal(napi_env env, void*, void* hint) {
  auto* memory = static_cast<ExternalMemory*>(hint);
  int64_t ignored = 0;
  napi_adjust_external_memory(env, -memory->bytes, &ignored);
  delete memory;  // the ndarray through ReleaseWhenGilHeld: no GIL wait here
}

class JsBuilder {
 public:
  JsBuilder(Napi::Env env, PlainTree* tree) : env_(env), tree_(tree) {}

  napi_value Value(size_t* at) {
    const PlainNode& node = tree_->nodes[(*at)++];
    napi_value out = nullptr;
    switch (node.kind) {
      case PlainNode::Kind::kNone:
        Check(napi_get_null(env_, &out));
        return out;
      case PlainNode::Kind::kBool:
        Check(napi_get_boolean(env_, node.boolean, &out));
        return out;
      case PlainNode::Kind::kFloat:
        Check(napi_create_double(env_, node.number, &out));
        return out;
      case PlainNode::Kind::kInt:
        if (node.integer >= -kMaxSafeInteger && node.integer <= kMaxSafeInteger) {
          Check(napi_create_double(env_, static_cast<double>(node.integer), &out));
        } else {
          Check(napi_create_bigint_int64(env_, node.integer, &out));
        }
        return out;
      case PlainNode::Kind::kBigInt: {
        const PlainBigInt& big = tree_->bigints[node.index];
        Check(napi_create_bigint_words(env_, big.negative ? 1 : 0, big.words.size(),
                                       big.words.data(), &out));
        return out;
      }
      case PlainNode::Kind::kString: {
        const std::string& text = tree_->strings[node.index];
        Check(napi_create_string_utf8(env_, text.data(), text.size(), &out));
        return out;
      }
      case PlainNode::Kind::kList: {
        Check(napi_create_array_with_length(env_, node.index, &out));
        for (size_t i = 0; i < node.index; i++) {
          Check(napi_set_element(env_, out, static_cast<uint32_t>(i), Value(at)));
        }
        return out;
      }
      case PlainNode::Kind::kDict: {
        Check(napi_create_object(env_, &out));
        for (size_t i = 0; i < node.index; i++) {
          napi_value key = Value(at);
          // Defined, not assigned: a key "__proto__" is an own property, not the prototype.
          napi_property_descriptor property = {
              nullptr, key, nullptr, nullptr, nullptr, Value(at), napi_default_jsproperty, nullptr};
          Check(napi_define_properties(env_, out, 1, &property));
        }
        return out;
      }
      case PlainNode::Kind::kArray:
        return Array(tree_->arrays[node.index]);
    }
    return out;
  }

 private:
  napi_value Array(PlainArray& array) {
    const size_t size = ElementSize(array.type);
    napi_value buffer = ExternalBuffer(array);
    if (buffer == nullptr) {
      void* data = nullptr;
      Check(napi_create_arraybuffer(env_, array.byte_length, &data, &buffer));
      if (array.byte_length > 0) std::memcpy(data, array.data, array.byte_length);
      array.owner = KeptPyObject();
      array.copy.reset();
    }
    napi_value typed = nullptr;
    Check(napi_create_typedarray(env_, array.type, array.byte_length / size, buffer, 0, &typed));
    if (!array.nd) return typed;
    napi_value shape = nullptr, out = nullptr;
    Check(napi_create_array_with_length(env_, array.shape.size(), &shape));
    for (size_t i = 0; i < array.shape.size(); i++) {
      napi_value dim = nullptr;
      Check(napi_create_double(env_, static_cast<double>(array.shape[i]), &dim));
      Check(napi_set_element(env_, shape, static_cast<uint32_t>(i), dim));
    }
    Check(napi_create_object(env_, &out));
    Check(napi_set_named_property(env_, out, "data", typed));
    Check(napi_set_named_property(env_, out, "shape", shape));
    return out;
  }

  // An ArrayBuffer over the array's own memory (the ndarray's, or its one copy), or null for
  // a copy into V8's memory: small arrays, and where external buffers are not allowed.
  napi_value ExternalBuffer(PlainArray& array) {
    if (array.byte_length < kHandOffMinBytes || external_refused_) return nullptr;
    auto memory = std::make_unique<ExternalMemory>();
    memory->owner = std::move(array.owner);
    memory->copy = std::move(array.copy);
    memory->bytes = static_cast<int64_t>(array.byte_length);
    napi_value buffer = nullptr;
    const napi_status status = simulate_refusal.load(std::memory_order_relaxed)
                                   ? napi_no_external_buffers_allowed
                                   : napi_create_external_arraybuffer(
                                         env_, const_cast<void*>(array.data), array.byte_length,
                                         FreeExternal, memory.get(), &buffer);
    if (status == napi_no_external_buffers_allowed) {
      external_refused_ = true;
      array.owner = std::move(memory->owner);
      array.copy = std::move(memory->copy);
      return nullptr;
    }
    Check(status);
    memory.release();  // the buffer's finalizer owns it now
    int64_t ignored = 0;
    // V8 counts this memory towards its GC heuristics, as it counts its own buffers.
    napi_adjust_external_memory(env_, static_cast<int64_t>(array.byte_length), &ignored);
    return buffer;
  }

  void Check(napi_status status) {
    if (status != napi_ok) throw Napi::Error::New(env_);
  }

  Napi::Env env_;
  PlainTree* tree_;
  bool external_refused_ = false;
};

}  // namespace

void SimulateNoExternalBuffers(bool refused) {
  simulate_refusal.store(refused, std::memory_order_relaxed);
}

Napi::Value PlainToJs(Napi::Env env, PlainTree* tree) {
  size_t at = 0;
  JsBuilder builder(env, tree);
  return Napi::Value(env, builder.Value(&at));
}

}  // namespace py_outliers
