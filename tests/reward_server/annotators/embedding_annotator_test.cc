#include "reward_server/annotators/embedding_annotator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <latch>
#include <thread>

#include "tests/reward_server/annotators/test_queries.h"

namespace lantern::reward {
namespace {

using ::testing::HasSubstr;

// Writes a file in the format of word_vectors.h (dim 3).
void WriteVectors(
    const std::string& path,
    const std::vector<std::pair<std::string, std::vector<float>>>& rows) {
  std::string block, matrix;
  for (const auto& [word, v] : rows) {
    block += word + "\n";
    matrix.append(reinterpret_cast<const char*>(v.data()), 4 * v.size());
  }
  auto u32 = [](uint32_t v) {
    return std::string(reinterpret_cast<char*>(&v), 4);
  };
  std::ofstream(path, std::ios::binary)
      << "LANTWVEC" << u32(1) << u32(uint32_t(rows.size())) << u32(3)
      << u32(uint32_t(block.size())) << block << matrix;
}

constexpr double kSqrtHalf = 0.70710678118654752;

class EmbeddingAnnotatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("lantern_emb_test_" + std::to_string(::getpid()) + ".bin"))
                .string();
    WriteVectors(path_, {{"key", {1, 0, 0}},
                         {"door", {0, 1, 0}},
                         {"stairs", {0, 0, 1}},
                         {"wall", {-1, 0, 0}}});
    config_.vectors = path_;
    config_.goal = "the key and the door";  // mean (1/2, 1/2, 0)
    config_.similarity_threshold = 0.7;
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::unique_ptr<EmbeddingAnnotator> Make() {
    auto a = EmbeddingAnnotator::Create(config_);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }
  Annotation Annotate(EmbeddingAnnotator& a, Query q) {
    auto r = a.Annotate(q, std::stop_token());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Annotation{};
  }

  std::string path_;
  common::AnnotatorConfig config_;
};

TEST_F(EmbeddingAnnotatorTest, CosineMatchesHandComputedValues) {
  auto a = Make();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->kind(), "embedding");
  EXPECT_NEAR(*a->Similarity("You see a key."), kSqrtHalf, 1e-7);
  EXPECT_NEAR(*a->Similarity("It's a wall."), -kSqrtHalf, 1e-7);
  EXPECT_NEAR(*a->Similarity("The stairs."), 0.0, 1e-7);
  // mean (1, 1, 1) / 3: sqrt(2) / sqrt(3)
  EXPECT_NEAR(*a->Similarity("key, door, stairs"), 0.816496580927726, 1e-7);
  // Repeats count: mean (2, 1, 0) / 3, cos = 3 / sqrt(10).
  EXPECT_NEAR(*a->Similarity("key key door"), 0.948683298050514, 1e-7);
  EXPECT_FALSE(a->Similarity("Nothing happens here.").has_value());
}

TEST_F(EmbeddingAnnotatorTest, ClassifiesWithTheThreshold) {
  auto a = Make();
  ASSERT_NE(a, nullptr);
  Annotation key = Annotate(*a, Q("You see a key."));
  EXPECT_EQ(key.label, Label::kHelpful);
  EXPECT_NEAR(key.score, kSqrtHalf, 1e-7);
  EXPECT_EQ(key.model, "glove-100d");
  EXPECT_EQ(key.prompt_version, "");
  EXPECT_EQ(key.raw_answer, "cos=0.707107");
  EXPECT_EQ(Annotate(*a, Q("The stairs.")).label, Label::kUnhelpful);
  EXPECT_EQ(Annotate(*a, Q("A wall.")).label, Label::kUnhelpful);
  Annotation none = Annotate(*a, Q("Nothing happens."));
  EXPECT_EQ(none.label, Label::kUnhelpful);
  EXPECT_EQ(none.score, 0.0);
  EXPECT_THAT(none.raw_answer, HasSubstr("no known word"));

  config_.similarity_threshold = 0.71;
  auto strict = Make();
  ASSERT_NE(strict, nullptr);
  EXPECT_EQ(Annotate(*strict, Q("You see a key.")).label, Label::kUnhelpful);
  EXPECT_EQ(Annotate(*strict, Q("key key door")).label, Label::kHelpful);
  EXPECT_EQ(a->counters().attempts.load(), 4u);
}

TEST_F(EmbeddingAnnotatorTest, RanksByCosine) {
  auto a = Make();
  ASSERT_NE(a, nullptr);
  Annotation r = Annotate(*a, Q("You see a key.", "A wall."));
  EXPECT_EQ(r.label, Label::kFirst);
  EXPECT_NEAR(r.score, 2 * kSqrtHalf, 1e-7);
  EXPECT_EQ(r.raw_answer, "cos(first)=0.707107 cos(second)=-0.707107");
  EXPECT_EQ(Annotate(*a, Q("A wall.", "the stairs")).label, Label::kSecond);
  // Different words, the same cosine: a tie, within 1e-6.
  EXPECT_EQ(Annotate(*a, Q("a door", "a key")).label, Label::kTie);
  EXPECT_EQ(Annotate(*a, Q("key", "the key!")).label, Label::kTie);
  // No known word counts as 0.
  Annotation none = Annotate(*a, Q("Nothing.", "A wall."));
  EXPECT_EQ(none.label, Label::kFirst);
  EXPECT_THAT(none.raw_answer,
              HasSubstr("cos(first)=0.000000 (no known word)"));
  EXPECT_EQ(Annotate(*a, Q("Nothing.", "Silence.")).label, Label::kTie);
}

TEST_F(EmbeddingAnnotatorTest, StopIsCancelled) {
  auto a = Make();
  ASSERT_NE(a, nullptr);
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(a->Annotate(Q("key"), stop.get_token()).status().code(),
            absl::StatusCode::kCancelled);
}

TEST_F(EmbeddingAnnotatorTest, ConfigErrors) {
  config_.goal = "the and a";
  auto no_goal = EmbeddingAnnotator::Create(config_);
  EXPECT_EQ(no_goal.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_goal.status().message(), HasSubstr("annotator.goal"));
  config_.goal = "key";
  config_.similarity_threshold = 1.5;
  EXPECT_THAT(EmbeddingAnnotator::Create(config_).status().message(),
              HasSubstr("similarity_threshold"));
  config_.similarity_threshold = 0.5;
  config_.vectors = path_ + ".absent";
  auto missing = EmbeddingAnnotator::Create(config_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("scripts/fetch_embeddings.sh"));
}

TEST_F(EmbeddingAnnotatorTest, ConcurrentAnnotationsAgree) {
  auto a = Make();
  ASSERT_NE(a, nullptr);
  const std::vector<Query> queries = {Q("You see a key."),  Q("A wall."),
                                      Q("key door stairs"), Q("Nothing."),
                                      Q("key", "wall"),     Q("door", "key")};
  std::vector<Annotation> expected;
  for (const Query& q : queries) expected.push_back(Annotate(*a, q));

  constexpr int kThreads = 4, kRounds = 2000;
  std::latch start(kThreads);
  std::vector<int> mismatches(kThreads, 0);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < kRounds; ++i) {
          const size_t k = size_t(i + t) % queries.size();
          auto r = a->Annotate(queries[k], std::stop_token());
          if (!r.ok() || r->label != expected[k].label ||
              r->score != expected[k].score) {
            ++mismatches[t];
          }
        }
      });
    }
  }
  for (int m : mismatches) EXPECT_EQ(m, 0);
  EXPECT_EQ(a->counters().attempts.load(), queries.size() + kThreads * kRounds);
}

}  // namespace
}  // namespace lantern::reward
