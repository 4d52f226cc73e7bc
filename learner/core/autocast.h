// bf16 autocast on CUDA for a scope.
#pragma once

#include <c10/core/ScalarType.h>

namespace lantern::core {

// Turns CUDA autocast to bf16 on for its lifetime (enabled = false: does
// nothing) and restores the previous state after. The autocast weight-cast
// cache is off inside, so the casts can be captured in a CUDA graph (a cached
// cast would go stale across replays). Thread-local, like autocast itself.
class CudaBf16Autocast {
 public:
  explicit CudaBf16Autocast(bool enabled);
  ~CudaBf16Autocast();
  CudaBf16Autocast(const CudaBf16Autocast&) = delete;
  CudaBf16Autocast& operator=(const CudaBf16Autocast&) = delete;

 private:
  bool enabled_;
  bool was_enabled_ = false;
  bool was_cache_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Half;
};

// True on this thread inside CUDA autocast to bf16.
bool CudaBf16AutocastEnabled();

}  // namespace lantern::core
