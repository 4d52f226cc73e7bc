#include "learner/core/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

// The per-device autocast functions arrived in PyTorch 2.4; Debian's 1.13
// has CUDA-specific ones.
#if TORCH_VERSION_MAJOR > 2 || \
    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define LANTERN_AUTOCAST_BY_DEVICE 1
#else
#define LANTERN_AUTOCAST_BY_DEVICE 0
#endif

namespace lantern::core {
namespace {

bool Enabled() {
#if LANTERN_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

void SetEnabled(bool enabled) {
#if LANTERN_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
#else
  at::autocast::set_enabled(enabled);
#endif
}

c10::ScalarType Dtype() {
#if LANTERN_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

void SetDtype(c10::ScalarType dtype) {
#if LANTERN_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
  at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

}  // namespace

CudaBf16Autocast::CudaBf16Autocast(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  was_enabled_ = Enabled();
  was_dtype_ = Dtype();
  was_cache_enabled_ = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(false);
  SetEnabled(true);
  SetDtype(at::kBFloat16);
  at::autocast::increment_nesting();
}

CudaBf16Autocast::~CudaBf16Autocast() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetEnabled(was_enabled_);
  SetDtype(was_dtype_);
  at::autocast::set_autocast_cache_enabled(was_cache_enabled_);
}

bool CudaBf16AutocastEnabled() { return Enabled() && Dtype() == at::kBFloat16; }

}  // namespace lantern::core
