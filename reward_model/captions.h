// Captions (the game messages the agent sees) as fixed-length byte rows, the
// input of the reward models.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lantern::reward_model {

// ONI's caption length: NLE's message is 256 bytes.
inline constexpr int64_t kOniCaptionLength = 256;

// Encodes captions as their raw bytes (no tokenizer, no decoding: ONI feeds
// latin-1 codes 0-255 to a byte embedding) into a uint8 CPU tensor
// [N, length]: each row is truncated to `length` bytes or zero-padded (0 is
// the embedding's padding index, so "abc" and "abc\0\0" encode alike).
// Throws c10::Error if length <= 0. Thread-safe.
at::Tensor EncodeCaptions(std::span<const std::string_view> captions,
                          int64_t length);
at::Tensor EncodeCaptions(std::span<const std::string> captions,
                          int64_t length);

// Truncates or zero-pads already encoded captions, uint8 [N, L'] on any
// device, to [N, length] on the same device (the learner keeps message
// bytes of its own length in trajectories). Returns `bytes` itself when
// L' == length. Throws c10::Error for other ranks or dtypes. Thread-safe.
at::Tensor FitCaptions(const at::Tensor& bytes, int64_t length);

}  // namespace lantern::reward_model
