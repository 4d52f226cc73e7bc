#include "learner/batch_builder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/learner/test_trajectories.h"

namespace lantern::learner {
namespace {

using test::MakeTrajectory;
using test::TestSpec;

TEST(BuildBatchTest, JoinsTrajectoriesSideBySideAlongTheEnvAxis) {
  const TrajectorySpec spec = TestSpec(/*state_size=*/2);
  std::vector<std::unique_ptr<v1::Trajectory>> items;
  items.push_back(
      std::make_unique<v1::Trajectory>(MakeTrajectory(spec, 1, 0, 3)));
  items.push_back(
      std::make_unique<v1::Trajectory>(MakeTrajectory(spec, 2, 0, 2)));
  // Mark the second trajectory so its columns can be told apart.
  float* reward =
      const_cast<float*>(common::TensorData<float>(items[1]->rewards()));
  reward[0] = 4.0f;  // step 0, its env 0 -> column 3 of the batch
  int32_t* action =
      const_cast<int32_t*>(common::TensorData<int32_t>(items[1]->actions()));
  action[2 * 2 + 1] = 4;  // step 2, its env 1 -> column 4

  common::RewardConfig reward_config;  // r = clip(r_ext, 10)
  const core::Batch b = BuildBatch(items, reward_config);
  const int64_t T = spec.unroll;
  EXPECT_EQ(b.chars.sizes(), (std::vector<int64_t>{T + 1, 5, 5, 5}));
  EXPECT_EQ(b.stats.sizes(), (std::vector<int64_t>{T + 1, 5, 5}));
  EXPECT_EQ(b.message.sizes(), (std::vector<int64_t>{T + 1, 5, 16}));
  EXPECT_EQ(b.actions.sizes(), (std::vector<int64_t>{T, 5}));
  EXPECT_EQ(b.actions.scalar_type(), torch::kInt64);
  EXPECT_EQ(b.behaviour_logits.sizes(), (std::vector<int64_t>{T, 5, 5}));
  EXPECT_EQ(b.rewards.sizes(), (std::vector<int64_t>{T, 5}));
  EXPECT_EQ(b.dones.sizes(), (std::vector<int64_t>{T, 5}));
  EXPECT_EQ(b.initial_state.sizes(), (std::vector<int64_t>{5, 2}));

  EXPECT_FLOAT_EQ(b.rewards[0][3].item<float>(), 4.0f);
  EXPECT_FLOAT_EQ(b.rewards[0][0].item<float>(), 0.25f);
  EXPECT_EQ(b.actions[2][4].item<int64_t>(), 4);
  EXPECT_EQ(b.chars[0][0][0][0].item<uint8_t>(), uint8_t('.'));
  // MakeTrajectory ends env 0's episode at step 2 in both trajectories.
  EXPECT_EQ(b.dones[2][0].item<uint8_t>(), 1);
  EXPECT_EQ(b.dones[2][3].item<uint8_t>(), 1);
  EXPECT_EQ(b.dones.sum().item<int64_t>(), 2);
}

TEST(BuildBatchTest, ShapesTheRewardWithTheConfig) {
  const TrajectorySpec spec = TestSpec();
  std::vector<std::unique_ptr<v1::Trajectory>> items;
  items.push_back(std::make_unique<v1::Trajectory>(MakeTrajectory(spec)));
  common::RewardConfig c;
  c.scale = 100;  // 0.25 * 100 = 25, clipped to 2, times 0.5
  c.clip = 2;
  c.extrinsic_coef = 0.5;
  const core::Batch b = BuildBatch(items, c);
  EXPECT_TRUE(torch::allclose(b.rewards, torch::full({spec.unroll, 3}, 1.0f)));
}

}  // namespace
}  // namespace lantern::learner
