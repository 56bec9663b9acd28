#include "values/plain_to_js.h"

#include <cstring>

#include "values/adopted_buffer.h"
#include "values/python_to_plain.h"

namespace py_outliers {
namespace {

// What an adopted ArrayBuffer owns: a handed-off ndarray or a copy.
struct AdoptedMemory {
  KeptPyObject owner;
  MallocBuffer copy;
};

// Any thread (adopted_buffer.h): the ndarray through ReleaseWhenGilHeld, never a GIL wait.
void FreeAdopted(void*, size_t, void* memory) { delete static_cast<AdoptedMemory*>(memory); }

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
      case PlainNode::Kind::kString:
        Check(PlainStringToJs(env_, tree_->strings[node.index], &out));
        return out;
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
  // a copy into V8's memory: small arrays, and where outside memory is not allowed.
  napi_value ExternalBuffer(PlainArray& array) {
    if (array.byte_length < kHandOffMinBytes) return nullptr;
    auto memory = std::make_unique<AdoptedMemory>();
    memory->owner = std::move(array.owner);
    memory->copy = std::move(array.copy);
    napi_value buffer = AdoptIntoArrayBuffer(env_, const_cast<void*>(array.data), array.byte_length,
                                             FreeAdopted, memory.get());
    if (buffer == nullptr) {
      array.owner = std::move(memory->owner);
      array.copy = std::move(memory->copy);
      return nullptr;
    }
    memory.release();  // the buffer's deleter owns it now
    return buffer;
  }

  void Check(napi_status status) {
    if (status != napi_ok) throw Napi::Error::New(env_);
  }

  Napi::Env env_;
  PlainTree* tree_;
};

}  // namespace

Napi::Value PlainToJs(Napi::Env env, PlainTree* tree) {
  size_t at = 0;
  JsBuilder builder(env, tree);
  return Napi::Value(env, builder.Value(&at));
}

}  // namespace py_outliers
