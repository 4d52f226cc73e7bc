#include "learner/reward_shaping.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lantern::learner {
namespace {

TEST(ShapeRewardTest, MatchesOnisFormulaComputedByHand) {
  common::RewardConfig c;
  c.extrinsic_coef = 0.1;
  c.intrinsic_coef = 0.4;
  c.scale = 0.5;
  c.clip = 10;
  c.count_exponent = 3;
  const torch::Tensor ext = torch::tensor({{2.0f, -30.0f, 0.5f}});
  const torch::Tensor r_int = torch::tensor({{1.0f, 1.0f, 0.0f}});
  const torch::Tensor counts = torch::tensor({{1, 2, 3}}, torch::kInt32);
  // 0.1*clip(1.0) + 0.4*1*1^-3    = 0.1 + 0.4   = 0.5
  // 0.1*clip(-15) + 0.4*1*2^-3    = -1.0 + 0.05 = -0.95
  // 0.1*clip(0.25) + 0.4*0*3^-3   = 0.025
  const torch::Tensor r = ShapeReward(ext, r_int, counts, c);
  ASSERT_EQ(r.sizes(), ext.sizes());
  EXPECT_EQ(r.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(r[0][0].item<float>(), 0.5f, 1e-6);
  EXPECT_NEAR(r[0][1].item<float>(), -0.95f, 1e-6);
  EXPECT_NEAR(r[0][2].item<float>(), 0.025f, 1e-6);
}

TEST(ShapeRewardTest, NoIntrinsicTermWhenItsCoefficientIsZero) {
  common::RewardConfig c;  // extrinsic 1, intrinsic 0, scale 1, clip 10
  const torch::Tensor ext = torch::tensor({{0.25f, 12.0f}});
  const torch::Tensor r =
      ShapeReward(ext, torch::ones_like(ext), torch::ones({1, 2}), c);
  EXPECT_NEAR(r[0][0].item<float>(), 0.25f, 1e-6);
  EXPECT_NEAR(r[0][1].item<float>(), 10.0f, 1e-6);  // clipped
}

}  // namespace
}  // namespace lantern::learner
