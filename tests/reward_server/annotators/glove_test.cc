// Checks on the real GloVe vectors converted by scripts/fetch_embeddings.sh
// (scripts/test.sh runs it first). Fails, rather than skips, without them.

#include <gtest/gtest.h>

#include <string_view>

#include "reward_server/annotators/embedding_annotator.h"
#include "tests/reward_server/annotators/test_queries.h"

namespace lantern::reward {
namespace {

// The threshold suggested for the default goal: it labels every grid task
// event helpful and most distractors not (the cosines are in the report of
// the work that added this file).
constexpr double kSuggestedThreshold = 0.7;

std::unique_ptr<EmbeddingAnnotator> RealAnnotator(double threshold) {
  common::AnnotatorConfig config;  // vectors "": the default path
  config.similarity_threshold = threshold;
  auto a = EmbeddingAnnotator::Create(config);
  EXPECT_TRUE(a.ok()) << a.status()
                      << "\nThe GloVe vectors are missing or broken: run "
                         "scripts/fetch_embeddings.sh";
  return a.ok() ? *std::move(a) : nullptr;
}

TEST(GloveTest, FileIsTheConvertedGlove) {
  auto a = RealAnnotator(kSuggestedThreshold);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->vectors().dim(), 100);
  EXPECT_GE(a->vectors().size(), 10000u);
  EXPECT_EQ(a->vectors().word(0), "the");
  EXPECT_FALSE(a->vectors().Lookup("staircase").empty());
}

TEST(GloveTest, KeyBeatsWallForTheDefaultGoal) {
  auto a = RealAnnotator(kSuggestedThreshold);
  ASSERT_NE(a, nullptr);
  const auto key = a->Similarity("You see a key here.");
  const auto wall = a->Similarity("It's a wall.");
  ASSERT_TRUE(key.has_value() && wall.has_value());
  EXPECT_GT(*key, *wall);
  auto r =
      a->Annotate(Q("You see a key here.", "It's a wall."), std::stop_token());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->label, Label::kFirst) << r->raw_answer;
}

TEST(GloveTest, SuggestedThresholdSeparatesGridCaptions) {
  auto a = RealAnnotator(kSuggestedThreshold);
  ASSERT_NE(a, nullptr);
  // actor/envs/grid/grid_env.cc: the task events ...
  for (std::string_view caption :
       {"You see a key.", "You pick up the key.", "You see a door.",
        "The door is locked.", "You unlock the door.", "You see a staircase.",
        "You climb down the stairs."}) {
    auto r = a->Annotate(Q(std::string(caption)), std::stop_token());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->label, Label::kHelpful) << caption << " " << r->raw_answer;
  }
  // ... and the distractors. "You hear a door open." shares "door" with the
  // goal, and a bag of words cannot tell hearing a door from seeing one.
  int unhelpful = 0;
  for (std::string_view caption :
       {"You hear a bird.", "The floor creaks.",
        "You hear some noises in the distance.",
        "You hear the splashing of a naiad.", "You hear a door open."}) {
    auto r = a->Annotate(Q(std::string(caption)), std::stop_token());
    ASSERT_TRUE(r.ok());
    unhelpful += r->label == Label::kUnhelpful;
  }
  EXPECT_GE(unhelpful, 4);
}

}  // namespace
}  // namespace lantern::reward
