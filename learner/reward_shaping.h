#pragma once

#include <ATen/core/Tensor.h>

#include "common/config.h"

namespace lantern::learner {

// ONI's reward (DESIGN.md):
//   r = extrinsic_coef * clip(scale * r_ext, -clip, clip)
//       + intrinsic_coef * r_int * N_ep^(-count_exponent)
// All tensors [T, B]; `counts` (int or float) >= 1. Pure; returns float.
// The intrinsic part alone: intrinsic_coef * r_int * N_ep^(-count_exponent).
at::Tensor IntrinsicTerm(const at::Tensor& intrinsic, const at::Tensor& counts,
                         const common::RewardConfig& options);

at::Tensor ShapeReward(const at::Tensor& extrinsic, const at::Tensor& intrinsic,
                       const at::Tensor& counts,
                       const common::RewardConfig& options);

}  // namespace lantern::learner
