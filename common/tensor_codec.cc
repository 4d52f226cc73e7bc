#include "common/tensor_codec.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lantern::common {

size_t DTypeSize(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_UINT8:
      return 1;
    case v1::DTYPE_INT32:
    case v1::DTYPE_FLOAT32:
      return 4;
    case v1::DTYPE_INT64:
      return 8;
    default:
      return 0;
  }
}

int64_t NumElements(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > (int64_t{1} << 40) / d) return -1;
    n *= d;
  }
  return n;
}

absl::Status CheckTensor(const v1::Tensor& t, const std::string& name,
                         v1::DType want, std::span<const int64_t> want_shape) {
  if (DTypeSize(t.dtype()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": unknown dtype ", static_cast<int>(t.dtype())));
  }
  if (t.dtype() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": dtype ", v1::DType_Name(t.dtype()), ", expected ",
                     v1::DType_Name(want)));
  }
  bool shape_ok = t.shape_size() == static_cast<int>(want_shape.size());
  for (int i = 0; shape_ok && i < t.shape_size(); ++i) {
    shape_ok =
        want_shape[i] < 0 ? t.shape(i) >= 0 : t.shape(i) == want_shape[i];
  }
  if (!shape_ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": shape [", absl::StrJoin(t.shape(), ","),
                     "], expected [", absl::StrJoin(want_shape, ","), "]"));
  }
  const int64_t n = NumElements({t.shape().data(), size_t(t.shape_size())});
  if (n < 0 || t.data().size() != size_t(n) * DTypeSize(t.dtype())) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", t.data().size(), " data bytes do not match ",
                     "shape [", absl::StrJoin(t.shape(), ","), "]"));
  }
  if (t.dtype() == v1::DTYPE_FLOAT32) {
    const char* p = t.data().data();
    for (int64_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, p + i * 4, 4);  // data may be unaligned
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": non-finite value at element ", i));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace lantern::common
