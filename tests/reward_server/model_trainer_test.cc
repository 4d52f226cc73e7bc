#include "reward_server/model_trainer.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "common/files.h"

namespace lantern::reward {
namespace {

LabelRecord Labelled(std::string caption, Label label) {
  return {.query = {.first = std::move(caption)},
          .annotation = {.label = label, .model = "m"},
          .annotator = "rules"};
}

LabelRecord Preferred(std::string a, std::string b, Label label) {
  return {.query = {.first = std::move(a), .second = std::move(b)},
          .annotation = {.label = label, .model = "m"},
          .annotator = "rules"};
}

class ModelTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "model_trainer_" +
           std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    config_.run.seed = 5;
    config_.reward.steps_per_label_batch = 8;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ModelTrainer> Make(const std::string& kind) {
    config_.reward.model_kind = kind;
    return std::make_unique<ModelTrainer>(
        config_, &publisher_, dir_ + "/reward_model.bin",
        std::make_shared<spdlog::logger>(
            "test", std::make_shared<spdlog::sinks::null_sink_mt>()));
  }

  v1::RewardModel Saved() {
    v1::RewardModel m;
    EXPECT_TRUE(
        m.ParseFromString(*common::ReadFile(dir_ + "/reward_model.bin")));
    return m;
  }

  std::string dir_;
  common::Config config_;
  common::VersionPublisher publisher_;
};

TEST_F(ModelTrainerTest, RetrievalPublishesTheLabelTable) {
  auto trainer = Make("retrieval");
  ASSERT_TRUE(trainer->Restore({}).ok());
  EXPECT_EQ(trainer->version(), 0);  // nothing to publish yet
  EXPECT_EQ(trainer->Score({"a"}).version(), -1);

  ASSERT_TRUE(trainer
                  ->Restore({Labelled("a", Label::kHelpful),
                             Labelled("b", Label::kUnhelpful),
                             Preferred("a", "b", Label::kFirst)})
                  .ok());
  EXPECT_EQ(trainer->version(), 1);
  EXPECT_EQ(publisher_.version(), 1);
  const v1::RewardModel m = Saved();
  EXPECT_EQ(m.kind(), "retrieval");
  ASSERT_EQ(m.captions_size(), 2);  // the pair is not a classification label
  EXPECT_EQ(m.labels(), std::string("\1\0", 2));
  EXPECT_EQ(m.labels_used(), 2);
  const v1::ScoreCaptionsResponse s = trainer->Score({"a", "b", "c"});
  EXPECT_EQ(s.version(), 1);
  EXPECT_EQ(s.r_int(0), 1.f);
  EXPECT_EQ(s.r_int(1), 0.f);
  EXPECT_EQ(s.r_int(2), 0.f);
}

TEST_F(ModelTrainerTest,
       ClassificationTrainsPublishesAndContinuesAfterRestart) {
  std::vector<LabelRecord> labels;
  for (int i = 0; i < 8; ++i) {
    labels.push_back(
        Labelled("You see a key " + std::to_string(i) + ".", Label::kHelpful));
    labels.push_back(Labelled("You hear a bird " + std::to_string(i) + ".",
                              Label::kUnhelpful));
  }
  {
    auto trainer = Make("classification");
    ASSERT_TRUE(trainer->Restore(labels).ok());
    EXPECT_EQ(trainer->steps(), 8);  // one burst: steps_per_label_batch
    EXPECT_EQ(trainer->version(), 1);
    const v1::ScoreCaptionsResponse s = trainer->Score({"You see a key 1."});
    ASSERT_EQ(s.r_int_size(), 1);
    EXPECT_TRUE(s.r_int(0) == 0.f || s.r_int(0) == 1.f);
  }
  const v1::RewardModel first = Saved();
  EXPECT_EQ(first.kind(), "classification");
  EXPECT_EQ(first.labels_used(), 16);
  EXPECT_GT(first.tensors_size(), 0);

  // A restart with two more labels: the saved weights load, the version
  // goes on, and only the new labels cause training.
  labels.push_back(Labelled("You see a door.", Label::kHelpful));
  labels.push_back(Labelled("The floor creaks.", Label::kUnhelpful));
  auto trainer = Make("classification");
  ASSERT_TRUE(trainer->Restore(labels).ok());
  EXPECT_EQ(trainer->version(), 2);
  EXPECT_EQ(trainer->steps(), 8);
  EXPECT_EQ(Saved().labels_used(), 18);

  // A saved model of another kind is not loaded.
  auto ranking = Make("ranking");
  ASSERT_TRUE(ranking->Restore({Preferred("a", "b", Label::kFirst)}).ok());
  EXPECT_EQ(ranking->version(), 1);
  EXPECT_EQ(Saved().kind(), "ranking");
}

}  // namespace
}  // namespace lantern::reward
