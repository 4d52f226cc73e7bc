#include "reward_model/ranking_normalization.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace lantern::reward_model {
namespace {

// Expected values computed by hand (Python floats) from the formulas in
// ranking_normalization.h.

TEST(RankingNormalizationTest, InitialStatsAreOnis) {
  const RunningMeanStd s;
  EXPECT_EQ(s.mean, 0.0);
  EXPECT_EQ(s.var, 1.0);
  EXPECT_EQ(s.count, 1e-4);
}

TEST(RankingNormalizationTest, ChanUpdateMatchesHandValues) {
  // Batch [1, 2, 3, 4]: mean 2.5, unbiased var 5/3.
  RunningMeanStd s =
      UpdateRunningMeanStd({}, torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}));
  EXPECT_NEAR(s.mean, 2.499937501562461, 1e-12);
  EXPECT_NEAR(s.var, 1.6668062426044492, 1e-12);
  EXPECT_NEAR(s.count, 4.0001, 1e-12);
  // Then [10, -2]: mean 4, unbiased var 72.
  s = UpdateRunningMeanStd(s, torch::tensor({{10.0}, {-2.0}}));
  EXPECT_NEAR(s.mean, 2.9999500008333193, 1e-12);
  EXPECT_NEAR(s.var, 25.61085092776236, 1e-10);
  EXPECT_NEAR(s.count, 6.0001, 1e-12);
  // The same update from the moments directly.
  const RunningMeanStd m =
      CombineMoments(CombineMoments({}, 2.5, 5.0 / 3.0, 4), 4.0, 72.0, 2);
  EXPECT_NEAR(m.mean, s.mean, 1e-12);
  EXPECT_NEAR(m.var, s.var, 1e-10);
}

TEST(RankingNormalizationTest, SingleAndEmptyBatches) {
  const RunningMeanStd one = UpdateRunningMeanStd({}, torch::tensor({3.0f}));
  // Variance 0 for a single value: (1 * 1e-4 + 9 * 1e-4 / 1.0001) / 1.0001.
  EXPECT_NEAR(one.mean, 3.0 / 1.0001, 1e-12);
  EXPECT_NEAR(one.var, (1e-4 + 9e-4 / 1.0001) / 1.0001, 1e-12);
  const RunningMeanStd none = UpdateRunningMeanStd(one, torch::zeros({0}));
  EXPECT_EQ(none.mean, one.mean);
  EXPECT_EQ(none.count, one.count);
  EXPECT_EQ(CombineMoments(one, 5.0, 1.0, 0).count, one.count);
}

TEST(RankingNormalizationTest, NormalizeUsesVarPlusEpsilon) {
  RunningMeanStd s;
  s.mean = 2.9999500008333193;
  s.var = 25.61085092776236;
  const torch::Tensor n =
      Normalize(torch::tensor({10.0, -2.0}, torch::kDouble), s);
  EXPECT_NEAR(n[0].item<double>(), 1.3832132416619916, 1e-12);
  EXPECT_NEAR(n[1].item<double>(), -0.9879925214282536, 1e-12);
  s.var = 0;  // no division by zero
  EXPECT_NEAR(
      Normalize(torch::tensor({1.0}, torch::kDouble), s)[0].item<double>(),
      (1.0 - s.mean) / 1e-4, 1e-3);
}

TEST(RankingNormalizationTest, QuantileInterpolatesLikeNumpy) {
  const torch::Tensor v = torch::tensor({3, 1, 4, 1, 5, 9, 2, 6});
  EXPECT_DOUBLE_EQ(Quantile(v, 0.3), 2.1);  // position 2.1 in 1 1 2 3 ...
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 3.5);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 9.0);
  EXPECT_DOUBLE_EQ(Quantile(torch::tensor({7.0f}), 0.4), 7.0);
  EXPECT_DOUBLE_EQ(Quantile(v.view({2, 4}), 0.5), 3.5);
  EXPECT_THROW(Quantile(torch::zeros({0}), 0.5), c10::Error);
  EXPECT_THROW(Quantile(v, 1.5), c10::Error);
}

TEST(RankingNormalizationTest, ZeroBelowKeepsTheThresholdItself) {
  const torch::Tensor z =
      ZeroBelow(torch::tensor({-1.0f, 0.5f, 0.49f, 2.0f}), 0.5);
  EXPECT_TRUE(torch::equal(z, torch::tensor({0.0f, 0.5f, 0.0f, 2.0f})));
}

TEST(RankingNormalizationTest, PipelineMatchesHandValues) {
  const torch::Tensor raw =
      torch::tensor({4.0, 0.0, 3.0, 1.0, 2.0}, torch::kDouble);
  // Stats: mean 2, unbiased var 2.5 over 5 values, from (0, 1, 1e-4).
  NormalizedRewards out = NormalizeRankingRewards(raw, {}, 0.3);
  EXPECT_NEAR(out.stats.mean, 1.999960000799984, 1e-12);
  EXPECT_NEAR(out.stats.var, 2.500049997400084, 1e-12);
  EXPECT_NEAR(out.stats.count, 5.0001, 1e-12);
  // Normalised: -1.26487, -0.63242, 2.5297e-5, 0.63247, 1.26492 (sorted);
  // the 0.3-quantile sits at position 1.2: -0.5059340678474482.
  EXPECT_NEAR(out.threshold, -0.5059340678474482, 1e-12);
  const std::vector<double> expected = {
      1.2649237107367275, 0.0, 0.6324745040995218, 0.0, 2.529746231621745e-05};
  ASSERT_EQ(out.rewards.sizes(), raw.sizes());
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(out.rewards[i].item<double>(), expected[i], 1e-12) << i;
  }
  // The median keeps the middle value itself (it equals the threshold).
  out = NormalizeRankingRewards(raw, {}, 0.5);
  EXPECT_NEAR(out.threshold, 2.529746231621745e-05, 1e-12);
  EXPECT_EQ((out.rewards != 0).sum().item<int64_t>(), 3);
}

TEST(RankingNormalizationTest, PipelineKeepsShapeAndDtype) {
  const torch::Tensor raw = torch::randn({4, 8});
  const NormalizedRewards out = NormalizeRankingRewards(raw, {}, 0.5);
  EXPECT_EQ(out.rewards.sizes(), raw.sizes());
  EXPECT_EQ(out.rewards.scalar_type(), torch::kFloat);
  EXPECT_EQ((out.rewards != 0).sum().item<int64_t>(), 16);
  const NormalizedRewards empty =
      NormalizeRankingRewards(torch::zeros({0}), out.stats, 0.5);
  EXPECT_EQ(empty.rewards.numel(), 0);
  EXPECT_EQ(empty.stats.count, out.stats.count);
}

}  // namespace
}  // namespace lantern::reward_model
