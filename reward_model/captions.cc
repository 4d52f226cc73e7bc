#include "reward_model/captions.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>

namespace lantern::reward_model {
namespace {

template <typename Caption>
at::Tensor Encode(std::span<const Caption> captions, int64_t length) {
  TORCH_CHECK(length > 0, "EncodeCaptions: length must be positive, got ",
              length);
  const auto n = static_cast<int64_t>(captions.size());
  at::Tensor out = at::zeros({n, length}, at::kByte);
  uint8_t* data = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const std::string_view caption = captions[i];
    const size_t bytes = std::min(caption.size(), static_cast<size_t>(length));
    if (bytes > 0) std::memcpy(data + i * length, caption.data(), bytes);
  }
  return out;
}

}  // namespace

at::Tensor EncodeCaptions(std::span<const std::string_view> captions,
                          int64_t length) {
  return Encode(captions, length);
}

at::Tensor EncodeCaptions(std::span<const std::string> captions,
                          int64_t length) {
  return Encode(captions, length);
}

at::Tensor FitCaptions(const at::Tensor& bytes, int64_t length) {
  TORCH_CHECK(length > 0, "FitCaptions: length must be positive, got ", length);
  TORCH_CHECK(bytes.dim() == 2 && bytes.scalar_type() == at::kByte,
              "FitCaptions: captions must be uint8 [N, L], got ",
              bytes.scalar_type(), " ", bytes.sizes());
  const int64_t have = bytes.size(1);
  if (have == length) return bytes;
  if (have > length) return bytes.slice(1, 0, length);
  return at::constant_pad_nd(bytes, {0, length - have}, 0);
}

}  // namespace lantern::reward_model
