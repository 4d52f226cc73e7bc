#include "reward_model/distiller.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace lantern::reward_model {
namespace {

class DistillerTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }
};

// A narrow model for fast tests (the ONI-sized one is tested for shapes).
DistillerOptions SmallOptions(RewardModelKind kind) {
  DistillerOptions o;
  o.model.kind = kind;
  o.model.caption_length = 128;
  o.model.embedding_dim = 8;
  o.model.channels = 16;
  o.model.encoder_dim = 32;
  o.model.hidden = {32};
  o.batch_size = 16;
  o.model.seed = 5;
  o.seed = 6;
  return o;
}

std::vector<ClassificationExample> FewExamples() {
  return {{"You kill the newt!", 1},
          {"It's a wall.", 0},
          {"You see here 5 gold pieces.", 1},
          {"You hear bubbling water.", 0}};
}

TEST_F(DistillerTest, LossesMatchHandValues) {
  // log(1 + e^-2), log(1 + e^-1), log(1 + e^2).
  const torch::Tensor logits =
      torch::tensor({2.0, 0.0, 0.0, 1.0, 1.0, -1.0}, torch::kDouble)
          .view({3, 2});
  EXPECT_NEAR(ClassificationLoss(logits, torch::tensor({0, 1, 1}, torch::kLong))
                  .item<double>(),
              0.8557059032013893, 1e-12);
  // Rows (r_a, r_b, target): (1, 0, 1), (0.5, 2, 0), (-1, 1, 0.5), (3, 3,
  // 0.25): 0.3132617, 0.2014133, 1.1269280, log 2.
  EXPECT_NEAR(
      BradleyTerryLoss(torch::tensor({1.0, 0.5, -1.0, 3.0}, torch::kDouble),
                       torch::tensor({0.0, 2.0, 1.0, 3.0}, torch::kDouble),
                       torch::tensor({1.0, 0.0, 0.5, 0.25}, torch::kDouble))
          .item<double>(),
      0.5836875392759733, 1e-12);
}

TEST_F(DistillerTest, ScheduleFollowsOni) {
  EXPECT_EQ(TrainStepsForNewLabels(100, 100), 32);
  EXPECT_EQ(TrainStepsForNewLabels(1, 24999), 32);
  EXPECT_EQ(TrainStepsForNewLabels(1, 25000), 1);
  EXPECT_EQ(TrainStepsForNewLabels(500, 80000), 1);
  EXPECT_EQ(TrainStepsForNewLabels(0, 10), 0);
  const TrainSchedule custom{
      .steps_per_label_batch = 8, .switch_labels = 10, .steps_after_switch = 2};
  EXPECT_EQ(TrainStepsForNewLabels(3, 9, custom), 8);
  EXPECT_EQ(TrainStepsForNewLabels(3, 10, custom), 2);
}

TEST_F(DistillerTest, RejectsWrongKindAndBadLabels) {
  Distiller classification(SmallOptions(RewardModelKind::kClassification));
  const std::vector<PreferenceExample> pairs = {{"a", "b", 1.0f}};
  EXPECT_THROW(classification.AddExamples(pairs), c10::Error);
  std::vector<ClassificationExample> bad = FewExamples();
  bad[2].label = 2;
  EXPECT_THROW(classification.AddExamples(bad), c10::Error);
  EXPECT_EQ(classification.num_examples(), 0);

  Distiller ranking(SmallOptions(RewardModelKind::kRanking));
  EXPECT_THROW(ranking.AddExamples(FewExamples()), c10::Error);
  const std::vector<PreferenceExample> bad_pairs = {{"a", "b", 0.5f},
                                                    {"a", "b", 1.5f}};
  EXPECT_THROW(ranking.AddExamples(bad_pairs), c10::Error);
  EXPECT_EQ(ranking.num_examples(), 0);
  ranking.AddExamples(pairs);
  EXPECT_EQ(ranking.num_examples(), 1);
}

TEST_F(DistillerTest, TrainWithoutExamplesDoesNothing) {
  Distiller d(SmallOptions(RewardModelKind::kClassification));
  const TrainStats stats = d.Train(5);
  EXPECT_EQ(stats.steps, 0);
  EXPECT_EQ(d.num_steps(), 0);
  d.AddExamples(FewExamples());
  EXPECT_EQ(d.Train(0).steps, 0);
  EXPECT_EQ(d.Train(3).steps, 3);
  EXPECT_EQ(d.num_steps(), 3);
}

TEST_F(DistillerTest, TrainingIsDeterministicUnderTheSeeds) {
  auto run = [] {
    Distiller d(SmallOptions(RewardModelKind::kClassification));
    std::vector<ClassificationExample> examples;
    for (int i = 0; i < 10; ++i) {
      for (const auto& e : FewExamples()) {
        examples.push_back({e.caption + std::to_string(i), e.label});
      }
    }
    d.AddExamples(examples);  // 40 > batch 16: sampled minibatches
    const TrainStats stats = d.Train(4);
    const std::vector<std::string> captions = {"You kill the jackal!"};
    return std::make_pair(stats.loss, d.Score(captions)[0].item<float>());
  };
  const auto first = run();
  torch::manual_seed(99);  // the global seed plays no part
  const auto second = run();
  EXPECT_EQ(first.first, second.first);
  EXPECT_EQ(first.second, second.second);
}

TEST_F(DistillerTest, ScoreDeduplicatesAndMatchesEncoded) {
  for (const auto kind :
       {RewardModelKind::kClassification, RewardModelKind::kRanking}) {
    DistillerOptions options = SmallOptions(kind);
    options.score_batch_size = 2;  // several forward passes
    Distiller d(options);
    const std::vector<std::string> captions = {
        "You kill the newt!", "",
        "It's a wall.",       "",
        "You kill the newt!", "You see here 5 gold pieces.",
        "It's a wall."};
    const torch::Tensor scores = d.Score(captions);
    ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{7}));
    EXPECT_EQ(scores.scalar_type(), torch::kFloat);
    EXPECT_EQ(scores[1].item<float>(), scores[3].item<float>());
    EXPECT_EQ(scores[0].item<float>(), scores[4].item<float>());
    // One at a time, and as encoded bytes of another length, agree.
    for (size_t i = 0; i < captions.size(); ++i) {
      const std::vector<std::string_view> one = {captions[i]};
      EXPECT_NEAR(d.Score(one)[0].item<float>(), scores[i].item<float>(), 1e-5);
    }
    const torch::Tensor encoded =
        d.ScoreEncoded(EncodeCaptions(captions, kOniCaptionLength));
    EXPECT_TRUE(torch::allclose(encoded, scores, 1e-5, 1e-6));
    if (kind == RewardModelKind::kClassification) {
      EXPECT_TRUE(scores.ge(0).all().item<bool>());
      EXPECT_TRUE(scores.le(1).all().item<bool>());
    }
    EXPECT_EQ(d.Score(std::vector<std::string>{}).numel(), 0);
    EXPECT_EQ(d.ScoreEncoded(torch::zeros({0, 128}, torch::kByte)).numel(), 0);
  }
}

TEST_F(DistillerTest, WeightsExportAndImportByName) {
  Distiller trained(SmallOptions(RewardModelKind::kClassification));
  trained.AddExamples(FewExamples());
  trained.Train(5);
  DistillerOptions other = SmallOptions(RewardModelKind::kClassification);
  other.model.seed = 77;
  Distiller copy(other);
  const std::vector<std::string> captions = {"You kill the newt!", "x"};
  ASSERT_FALSE(torch::equal(trained.Score(captions), copy.Score(captions)));
  {
    torch::NoGradGuard no_grad;
    auto to = copy.module().named_parameters();
    for (const auto& item : trained.module().named_parameters()) {
      to[item.key()].copy_(item.value());
    }
  }
  EXPECT_TRUE(torch::equal(trained.Score(captions), copy.Score(captions)));
}

TEST_F(DistillerTest, OniSizedModelTrainsAndScores) {
  for (const auto kind :
       {RewardModelKind::kClassification, RewardModelKind::kRanking}) {
    DistillerOptions options;  // ONI's sizes, learning rate and clip
    options.model.kind = kind;
    options.batch_size = 4;
    Distiller d(options);
    if (kind == RewardModelKind::kClassification) {
      d.AddExamples(FewExamples());
    } else {
      const std::vector<PreferenceExample> pairs = {
          {"You kill the newt!", "It's a wall.", 1.0f},
          {"It's a wall.", "You see here 5 gold pieces.", 0.0f},
          {"It's a wall.", "It's solid stone.", 0.5f}};
      d.AddExamples(pairs);
    }
    const TrainStats stats = d.Train(2);
    EXPECT_EQ(stats.steps, 2);
    EXPECT_TRUE(std::isfinite(stats.loss));
    EXPECT_GT(stats.grad_norm, 0);
    const std::vector<std::string> captions = {"a", "b", "c"};
    EXPECT_EQ(d.Score(captions).sizes(), (std::vector<int64_t>{3}));
  }
}

}  // namespace
}  // namespace lantern::reward_model
