#pragma once

#include <ATen/core/Tensor.h>

namespace lantern::learner {

struct RewardOptions {
  double extrinsic_coef = 1.0;
  double intrinsic_coef = 0.0;
  double scale = 1.0;
  double clip = 10.0;
  double count_exponent = 3.0;
};

// ONI's reward (DESIGN.md):
//   r = extrinsic_coef * clip(scale * r_ext, -clip, clip)
//       + intrinsic_coef * r_int * N_ep^(-count_exponent)
// All tensors [T, B]; `counts` (int or float) >= 1. Pure; returns float.
at::Tensor ShapeReward(const at::Tensor& extrinsic, const at::Tensor& intrinsic,
                       const at::Tensor& counts, const RewardOptions& options);

}  // namespace lantern::learner
