#include "reward_server/annotators/rules_annotator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <latch>
#include <thread>

#include "tests/reward_server/annotators/test_queries.h"

namespace lantern::reward {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<RulesAnnotator> Make(const std::vector<std::string>& rules) {
  auto a = RulesAnnotator::Create(rules);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : nullptr;
}

Annotation Annotate(RulesAnnotator& a, Query q) {
  auto r = a.Annotate(q, std::stop_token());
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : Annotation{};
}

std::string ErrorOf(const std::vector<std::string>& rules) {
  auto a = RulesAnnotator::Create(rules);
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(a.status().message());
}

TEST(RulesAnnotatorTest, ParseErrorsNameTheItem) {
  EXPECT_THAT(ErrorOf({"helpful"}),
              AllOf(HasSubstr("annotator.rules[0]"), HasSubstr("no '='")));
  EXPECT_THAT(ErrorOf({"good=key"}),
              AllOf(HasSubstr("annotator.rules[0]"),
                    HasSubstr("unknown label \"good\"")));
  EXPECT_THAT(ErrorOf({"helpful=key", "helpful=(key"}),
              AllOf(HasSubstr("annotator.rules[1]"), HasSubstr("bad regex"),
                    HasSubstr("missing )")));
  EXPECT_THAT(ErrorOf({"helpful="}), HasSubstr("empty regex"));
  // RE2 refuses what would need backtracking.
  EXPECT_THAT(ErrorOf({"helpful=(a)\\1"}), HasSubstr("annotator.rules[0]"));
  EXPECT_THAT(ErrorOf({}), HasSubstr("annotator.rules is empty"));
  // Every bad item is reported at once.
  EXPECT_THAT(ErrorOf({"x", "helpful=ok", "bad=y"}),
              AllOf(HasSubstr("annotator.rules[0]"),
                    Not(HasSubstr("annotator.rules[1]")),
                    HasSubstr("annotator.rules[2]")));
}

TEST(RulesAnnotatorTest, FirstMatchWins) {
  auto a = Make({"helpful=^You (see|pick up) (a|the) key", " unhelpful =key",
                 "helpful=(?i)door", "helpful=a=b"});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->kind(), "rules");
  EXPECT_EQ(a->size(), 4u);
  auto m = a->Classify("You see a key.");
  EXPECT_EQ(m.label, Label::kHelpful);
  EXPECT_EQ(m.rule, 0);
  m = a->Classify("A key rusts near the door.");
  EXPECT_EQ(m.label, Label::kUnhelpful);
  EXPECT_EQ(m.rule, 1);
  EXPECT_EQ(a->Classify("THE DOOR IS LOCKED.").rule, 2);
  EXPECT_EQ(a->Classify("x a=b y").rule, 3);  // the regex keeps its '='
  m = a->Classify("It's a wall.");
  EXPECT_EQ(m.label, Label::kUnhelpful);
  EXPECT_EQ(m.rule, -1);

  Annotation r = Annotate(*a, Q("You pick up the key."));
  EXPECT_EQ(r.label, Label::kHelpful);
  EXPECT_EQ(r.score, 0.0);
  EXPECT_EQ(r.model, "rules");
  EXPECT_EQ(r.raw_answer, "rules[0] matched: helpful");
  EXPECT_EQ(Annotate(*a, Q("Nothing.")).raw_answer,
            "no rule matched: unhelpful");
}

TEST(RulesAnnotatorTest, RanksHelpfulAboveUnhelpful) {
  auto a = Make({"helpful=key|door", "unhelpful=wall"});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(Annotate(*a, Q("a key", "a wall")).label, Label::kFirst);
  EXPECT_EQ(Annotate(*a, Q("a wall", "a door")).label, Label::kSecond);
  EXPECT_EQ(Annotate(*a, Q("a key", "a door")).label, Label::kTie);
  EXPECT_EQ(Annotate(*a, Q("a wall", "nothing")).label, Label::kTie);
  EXPECT_EQ(Annotate(*a, Q("a key", "a wall")).raw_answer,
            "first: rules[0] matched: helpful; second: rules[1] matched: "
            "unhelpful");
}

TEST(RulesAnnotatorTest, CreatesFromConfig) {
  common::AnnotatorConfig config;
  config.rules = {"helpful=stairs"};
  auto a = RulesAnnotator::Create(config);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->Classify("You climb down the stairs.").label,
            Label::kHelpful);
}

TEST(RulesAnnotatorTest, HostileCaptionIsLinearTime) {
  // (a+)+$ takes exponential time in a backtracking engine on "aaa...a!".
  auto a = Make({"helpful=(a+)+$", "helpful=(x*)*y"});
  ASSERT_NE(a, nullptr);
  const std::string hostile = std::string(1 << 20, 'a') + "!";
  EXPECT_EQ(a->Classify(hostile).rule, -1);
  EXPECT_EQ(a->Classify(std::string(1 << 20, 'x')).rule, -1);
  EXPECT_EQ(a->Classify("\xff\xfe not utf-8 \xc3").rule, -1);
}

TEST(RulesAnnotatorTest, StopIsCancelled) {
  auto a = Make({"helpful=key"});
  ASSERT_NE(a, nullptr);
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(a->Annotate(Q("key"), stop.get_token()).status().code(),
            absl::StatusCode::kCancelled);
}

TEST(RulesAnnotatorTest, ConcurrentAnnotationsAgree) {
  auto a = Make({"helpful=(?i)key|door|stairs", "unhelpful=hear"});
  ASSERT_NE(a, nullptr);
  const std::vector<Query> queries = {
      Q("You see a key."), Q("You hear a bird."), Q("A wall."),
      Q("key", "wall"),    Q("wall", "door"),     Q("key", "door")};
  std::vector<Label> expected;
  for (const Query& q : queries) expected.push_back(Annotate(*a, q).label);

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
          if (!r.ok() || r->label != expected[k]) ++mismatches[t];
        }
      });
    }
  }
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace lantern::reward
