#include "learner/reward_shaping.h"

#include <torch/torch.h>

namespace lantern::learner {

at::Tensor IntrinsicTerm(const at::Tensor& intrinsic, const at::Tensor& counts,
                         const common::RewardConfig& options) {
  return options.intrinsic_coef * intrinsic.to(torch::kFloat32) *
         torch::pow(counts.to(torch::kFloat32), -options.count_exponent);
}

at::Tensor ShapeReward(const at::Tensor& extrinsic, const at::Tensor& intrinsic,
                       const at::Tensor& counts,
                       const common::RewardConfig& options) {
  torch::Tensor r = options.extrinsic_coef *
                    torch::clamp(options.scale * extrinsic.to(torch::kFloat32),
                                 -options.clip, options.clip);
  if (options.intrinsic_coef != 0.0) {
    r = r + IntrinsicTerm(intrinsic, counts, options);
  }
  return r;
}

}  // namespace lantern::learner
