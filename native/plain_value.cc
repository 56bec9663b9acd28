#include "plain_value.h"

#include "deferred_release.h"

namespace py_outliers {

size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return kHasFloat16Array && type == kFloat16Array ? 2 : 0;
  }
}

KeptPyObject::~KeptPyObject() { ReleaseWhenGilHeld(obj_); }

KeptPyObject& KeptPyObject::operator=(KeptPyObject&& other) noexcept {
  if (this != &other) {
    ReleaseWhenGilHeld(obj_);
    obj_ = other.Release();
  }
  return *this;
}

}  // namespace py_outliers
