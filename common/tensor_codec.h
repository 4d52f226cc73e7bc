#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "lantern/v1/tensor.pb.h"

namespace lantern::common {

// Bytes per element; 0 for an unknown dtype.
size_t DTypeSize(v1::DType dtype);

template <class T>
constexpr v1::DType DTypeOf();
template <>
constexpr v1::DType DTypeOf<uint8_t>() {
  return v1::DTYPE_UINT8;
}
template <>
constexpr v1::DType DTypeOf<int32_t>() {
  return v1::DTYPE_INT32;
}
template <>
constexpr v1::DType DTypeOf<int64_t>() {
  return v1::DTYPE_INT64;
}
template <>
constexpr v1::DType DTypeOf<float>() {
  return v1::DTYPE_FLOAT32;
}

// Product of the dims; -1 if a dim is negative or the product overflows.
int64_t NumElements(std::span<const int64_t> shape);

// Copies `count` = product(shape) elements from `data` into `out`.
template <class T>
void EncodeTensor(std::span<const int64_t> shape, const T* data,
                  v1::Tensor* out) {
  out->set_dtype(DTypeOf<T>());
  out->mutable_shape()->Assign(shape.begin(), shape.end());
  out->set_data(reinterpret_cast<const char*>(data),
                static_cast<size_t>(NumElements(shape)) * sizeof(T));
}

// Validates a received tensor: known dtype `want`, exactly `want_shape`
// (a -1 entry matches any size), data size consistent with the shape, and all
// floating-point values finite. `name` prefixes the error. Returns
// INVALID_ARGUMENT with a reason on failure.
absl::Status CheckTensor(const v1::Tensor& t, const std::string& name,
                         v1::DType want, std::span<const int64_t> want_shape);

// Typed read-only view of a tensor's data; only valid after CheckTensor.
template <class T>
const T* TensorData(const v1::Tensor& t) {
  return reinterpret_cast<const T*>(t.data().data());
}

}  // namespace lantern::common
