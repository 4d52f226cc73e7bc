#include "learner/intrinsic_reward.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "learner/trajectory_spec.h"
#include "learner/weights.h"
#include "reward_model/caption_cnn.h"
#include "reward_model/captions.h"
#include "tests/learner/test_trajectories.h"

namespace lantern::learner {
namespace {

using test::kUnroll;
using test::MakeTrajectory;
using test::TestSpec;

common::RewardConfig Config(const std::string& kind) {
  common::RewardConfig c;
  c.model_kind = kind;
  c.classification_threshold = 0.5;
  c.ranking_quantile = 0.5;
  return c;
}

// A trajectory with T = kUnroll steps of `n` envs whose caption (t, e) is
// captions[t * n + e].
std::unique_ptr<v1::Trajectory> WithCaptions(
    int64_t n, const std::vector<std::string>& captions) {
  auto t =
      std::make_unique<v1::Trajectory>(MakeTrajectory(TestSpec(), 1, 0, n));
  PackCaptions(captions, t.get());
  return t;
}

TEST(BatchCaptionsTest, OrdersCaptionsTimeMajorAcrossTrajectories) {
  std::vector<std::unique_ptr<v1::Trajectory>> items;
  std::vector<std::string> a, b;
  for (int64_t s = 0; s < kUnroll; ++s) {
    for (int e = 0; e < 2; ++e) a.push_back(absl::StrCat("a", s, e));
    b.push_back(absl::StrCat("b", s));
  }
  items.push_back(WithCaptions(2, a));
  items.push_back(WithCaptions(1, b));
  const std::vector<std::string_view> c = BatchCaptions(items);
  ASSERT_EQ(c.size(), size_t(kUnroll * 3));
  for (int64_t s = 0; s < kUnroll; ++s) {
    EXPECT_EQ(c[size_t(s * 3 + 0)], absl::StrCat("a", s, 0));
    EXPECT_EQ(c[size_t(s * 3 + 1)], absl::StrCat("a", s, 1));
    EXPECT_EQ(c[size_t(s * 3 + 2)], absl::StrCat("b", s));
  }
}

TEST(IntrinsicRewardTest, IsZeroBeforeTheFirstModel) {
  IntrinsicReward r(Config("classification"), /*background=*/false);
  IntrinsicReward::Result out = r.Compute({"x", "", "y", "x"}, 2, 2);
  EXPECT_EQ(out.version, -1);
  EXPECT_TRUE(torch::equal(out.r_int, torch::zeros({2, 2})));
}

TEST(IntrinsicRewardTest, RetrievalUsesTheStoredLabelAndZeroOtherwise) {
  IntrinsicReward r(Config("retrieval"), /*background=*/false);
  v1::RewardModel m;
  m.set_kind("retrieval");
  m.set_version(4);
  m.add_captions("You see a key.");
  m.add_captions("It's a wall.");
  m.set_labels(std::string("\1\0", 2));
  ASSERT_TRUE(r.SetModel(m).ok());
  IntrinsicReward::Result out =
      r.Compute({"You see a key.", "It's a wall.", "unlabelled", "",
                 "You see a key.", "x"},
                3, 2);
  EXPECT_EQ(out.version, 4);
  EXPECT_TRUE(torch::equal(
      out.r_int, torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 0.f}).view({3, 2})));
}

v1::RewardModel Export(reward_model::CaptionCnn& net, const std::string& kind,
                       int64_t version) {
  v1::RewardModel m;
  m.set_kind(kind);
  m.set_version(version);
  m.set_caption_length(int32_t(net->options().caption_length));
  ExportWeights(*net, m.mutable_tensors());
  return m;
}

TEST(IntrinsicRewardTest, ClassificationThresholdsTheModelsProbability) {
  reward_model::CaptionCnn net(reward_model::CaptionCnnOptions{.seed = 7});
  net->eval();
  const std::vector<std::string> captions = {"You see a key.", "",    "Hello",
                                             "You see a key.", "abc", "zzz"};
  std::vector<std::string> non_empty = {"You see a key.", "Hello", "abc",
                                        "zzz"};
  torch::NoGradGuard no_grad;
  const at::Tensor p =
      torch::softmax(net->forward(reward_model::EncodeCaptions(
                         std::span<const std::string>(non_empty), 256)),
                     1)
          .select(1, 1);
  // A threshold between the probabilities, so that both labels occur.
  common::RewardConfig config = Config("classification");
  config.classification_threshold = p.median().item<double>();
  IntrinsicReward r(config, /*background=*/false);
  ASSERT_TRUE(r.SetModel(Export(net, "classification", 2)).ok());
  std::vector<std::string_view> views(captions.begin(), captions.end());
  IntrinsicReward::Result out = r.Compute(views, 3, 2);
  const float* o = out.r_int.data_ptr<float>();
  auto expect = [&](int i) {
    return p[i].item<double>() > config.classification_threshold ? 1.f : 0.f;
  };
  EXPECT_EQ(o[0], expect(0));
  EXPECT_EQ(o[1], 0.f);  // empty caption
  EXPECT_EQ(o[2], expect(1));
  EXPECT_EQ(o[3], expect(0));
  EXPECT_EQ(o[4], expect(2));
  EXPECT_EQ(o[5], expect(3));
}

TEST(IntrinsicRewardTest, RankingNormalisesAndThresholdsTheScores) {
  reward_model::CaptionCnn net(reward_model::CaptionCnnOptions{
      .kind = reward_model::RewardModelKind::kRanking, .seed = 3});
  net->eval();
  const std::vector<std::string> batch = {"a", "bb", "", "ccc", "a", "dddd"};
  std::vector<std::string> non_empty = {"a", "bb", "ccc", "a", "dddd"};
  torch::NoGradGuard no_grad;
  const at::Tensor raw = net->forward(reward_model::EncodeCaptions(
      std::span<const std::string>(non_empty), 256));
  reward_model::NormalizedRewards expected =
      reward_model::NormalizeRankingRewards(raw, {}, 0.5);

  IntrinsicReward r(Config("ranking"), /*background=*/false);
  ASSERT_TRUE(r.SetModel(Export(net, "ranking", 1)).ok());
  std::vector<std::string_view> views(batch.begin(), batch.end());
  const at::Tensor out = r.Compute(views, 2, 3).r_int.flatten();
  const std::vector<int> steps = {0, 1, 3, 4, 5};
  for (size_t k = 0; k < steps.size(); ++k) {
    EXPECT_NEAR(out[steps[k]].item<float>(),
                expected.rewards[int64_t(k)].item<float>(), 1e-5)
        << k;
  }
  EXPECT_EQ(out[2].item<float>(), 0.f);
  // The running statistics carry over to the next batch.
  const at::Tensor second = r.Compute(views, 2, 3).r_int.flatten();
  reward_model::NormalizedRewards again =
      reward_model::NormalizeRankingRewards(raw, expected.stats, 0.5);
  EXPECT_NEAR(second[5].item<float>(), again.rewards[4].item<float>(), 1e-5);
}

// The P(helpful) > threshold of each caption under `net`.
std::vector<float> Thresholded(reward_model::CaptionCnn& net,
                               const std::vector<std::string>& captions,
                               double threshold) {
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor p =
      torch::softmax(net->forward(reward_model::EncodeCaptions(
                         std::span<const std::string>(captions), 256)),
                     1)
          .select(1, 1);
  std::vector<float> out;
  for (int64_t i = 0; i < p.size(0); ++i) {
    out.push_back(p[i].item<double>() > threshold ? 1.f : 0.f);
  }
  return out;
}

TEST(IntrinsicRewardTest, ANewVersionRescoresKnownCaptionsInTheBackground) {
  std::vector<std::string> captions;
  for (int i = 0; i < 16; ++i)
    captions.push_back("caption " + std::to_string(i));
  reward_model::CaptionCnn first(reward_model::CaptionCnnOptions{.seed = 1});
  reward_model::CaptionCnn second(reward_model::CaptionCnnOptions{.seed = 2});
  // Captions seen under the first version get the second one's scores.
  common::RewardConfig config = Config("classification");
  config.classification_threshold = 0.5;
  IntrinsicReward r(config, /*background=*/true);
  std::vector<std::string_view> views(captions.begin(), captions.end());
  ASSERT_TRUE(r.SetModel(Export(first, "classification", 1)).ok());
  while (r.version() != 1) std::this_thread::yield();
  const at::Tensor a = r.Compute(views, 4, 4).r_int.flatten();
  ASSERT_TRUE(r.SetModel(Export(second, "classification", 2)).ok());
  while (r.version() != 2) std::this_thread::yield();
  const at::Tensor b = r.Compute(views, 4, 4).r_int.flatten();
  const std::vector<float> want_a =
      Thresholded(first, captions, config.classification_threshold);
  const std::vector<float> want_b =
      Thresholded(second, captions, config.classification_threshold);
  for (size_t i = 0; i < captions.size(); ++i) {
    EXPECT_EQ(a[int64_t(i)].item<float>(), want_a[i]) << i;
    EXPECT_EQ(b[int64_t(i)].item<float>(), want_b[i]) << i;
  }
}

TEST(IntrinsicRewardTest, ABadModelIsRefusedAndTheOldOneStays) {
  IntrinsicReward r(Config("classification"), /*background=*/false);
  reward_model::CaptionCnn net(reward_model::CaptionCnnOptions{});
  ASSERT_TRUE(r.SetModel(Export(net, "classification", 1)).ok());
  v1::RewardModel wrong_kind = Export(net, "classification", 2);
  wrong_kind.set_kind("ranking");
  EXPECT_EQ(r.SetModel(wrong_kind).code(), absl::StatusCode::kInvalidArgument);
  v1::RewardModel broken = Export(net, "classification", 3);
  broken.mutable_tensors()->RemoveLast();
  EXPECT_EQ(r.SetModel(broken).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.version(), 1);
}

}  // namespace
}  // namespace lantern::learner
