#include "values/plain_value.h"

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

ShapeFit FitShape(const int64_t* dims, size_t ndim, size_t element_size, size_t length) {
  constexpr uint64_t kLimit = INT64_MAX;
  uint64_t bytes = element_size;  // of the non-zero dimensions
  bool empty = false;
  for (size_t i = 0; i < ndim; i++) {
    const auto dim = static_cast<uint64_t>(dims[i]);
    if (dim == 0) {
      empty = true;
    } else if (bytes > kLimit / dim) {
      return ShapeFit::kTooBig;
    } else {
      bytes *= dim;
    }
  }
  const uint64_t elements = empty ? 0 : bytes / element_size;
  return elements == length ? ShapeFit::kFits : ShapeFit::kWrongLength;
}

}  // namespace py_outliers
