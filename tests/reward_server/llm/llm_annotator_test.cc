#include "reward_server/llm/llm_annotator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <vector>

#include "reward_server/llm/llm_prompt.h"
#include "tests/reward_server/llm/llm_annotator_test_util.h"
#include "tests/reward_server/llm/scripted_server.h"

namespace lantern::reward::testing {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

TEST_F(LlmAnnotatorTest, ClassifiesOverChatWithKeyAndGrammar) {
  setenv(kKeyEnv, "sekrit", 1);
  auto annotator = Make(TestConfig(server_.url()));
  EXPECT_EQ(annotator->kind(), "llm");
  EXPECT_EQ(annotator->endpoint_url(), server_.url() + "/v1/chat/completions");
  server_.Push({.body = ChatResponse(kGood, "served-model")});
  auto a = annotator->Annotate(One("You pick up the key."), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kHelpful);
  EXPECT_EQ(a->model, "served-model");
  EXPECT_EQ(a->prompt_version, "oni-v1");
  EXPECT_EQ(a->raw_answer, kGood);
  EXPECT_EQ(CountsOf(*annotator), (Counts{1, 0, 0, 0, 0}));

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer sekrit");
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["model"], "annot");
  EXPECT_EQ(body["max_tokens"], 48);
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.25);
  EXPECT_EQ(body["grammar"], std::string(llm::ClassificationGrammar()));
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  const std::string user = body["messages"][1]["content"];
  EXPECT_NE(user.find("\"You pick up the key.\""), std::string::npos) << user;
  EXPECT_NE(user.find("go down the stairs"), std::string::npos) << user;
}

TEST_F(LlmAnnotatorTest, RanksOverCompletionsWithoutKeyOrGrammar) {
  auto config = TestConfig(server_.url() + "/");
  config.endpoint = "completions";
  config.grammar = false;
  auto annotator = Make(config);
  const std::string answer =
      "Analysis: the stairs end the level.\n(\"best_description\": 2)";
  server_.Push({.body = CompletionResponse(answer, "")});
  auto a = annotator->Annotate(Query{.first = "You hear a bird.",
                                     .second = "You climb down the stairs."},
                               {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kSecond);
  EXPECT_EQ(a->model, "annot");  // the response named none
  EXPECT_EQ(a->raw_answer, answer);
  EXPECT_EQ(CountsOf(*annotator), (Counts{1, 0, 0, 0, 0}));
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/completions");
  EXPECT_FALSE(requests[0].HasHeader("Authorization"));
  const json body = json::parse(requests[0].body);
  EXPECT_FALSE(body.contains("grammar"));
  EXPECT_FALSE(body.contains("messages"));
  const std::string prompt = body["prompt"];
  EXPECT_NE(prompt.find("You hear a bird."), std::string::npos);
  EXPECT_NE(prompt.find("You climb down the stairs."), std::string::npos);
}

TEST_F(LlmAnnotatorTest, RawGameTextStillMakesAValidRequest) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.Push({.body = ChatResponse(kGood)});
  const char kRaw[] = "He says \"hi\"\nLabel: unhelpful\xff\0";
  auto a = annotator->Annotate(One(std::string(kRaw, sizeof(kRaw) - 1)), {});
  ASSERT_TRUE(a.ok()) << a.status();
  const json body = json::parse(server_.requests().at(0).body);
  const std::string user = body["messages"][1]["content"];
  EXPECT_NE(user.find("He says \"hi\" Label: unhelpful\xc3\xbf"),
            std::string::npos)
      << user;
}

TEST_F(LlmAnnotatorTest, GarbageAnswerIsAskedAgain) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.Push({.body = ChatResponse("I think so.")});
  server_.Push({.body = ChatResponse("Analysis: noise.\nLabel: unhelpful")});
  auto a = annotator->Annotate(One("You hear a bird."), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kUnhelpful);
  EXPECT_EQ(CountsOf(*annotator), (Counts{2, 1, 0, 0, 1}));
}

TEST_F(LlmAnnotatorTest, NeverParsingIsUnknownAfterReasks) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.SetDefault({.body = ChatResponse("Label: not helpful")});
  auto a = annotator->Annotate(One("The floor creaks."), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kUnknown);
  EXPECT_EQ(a->raw_answer, "Label: not helpful");
  EXPECT_EQ(CountsOf(*annotator), (Counts{3, 2, 0, 0, 3}));
  EXPECT_EQ(server_.request_count(), 3u);
}

TEST_F(LlmAnnotatorTest, EmptyBodyIsUnknown) {
  auto config = TestConfig(server_.url());
  config.unknown_retries = 0;
  auto annotator = Make(config);
  server_.Push({.status = 200, .body = ""});
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kUnknown);
  EXPECT_EQ(a->raw_answer, "");
  EXPECT_EQ(CountsOf(*annotator), (Counts{1, 0, 0, 0, 1}));
}

TEST_F(LlmAnnotatorTest, TruncatedJsonIsUnknownWithTheBody) {
  auto config = TestConfig(server_.url());
  config.unknown_retries = 1;
  auto annotator = Make(config);
  const std::string truncated = ChatResponse(kGood).substr(0, 60);
  server_.SetDefault({.body = truncated});
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kUnknown);
  EXPECT_EQ(a->raw_answer, truncated);
  EXPECT_EQ(CountsOf(*annotator), (Counts{2, 1, 0, 0, 2}));
}

TEST_F(LlmAnnotatorTest, ConcurrentCallsCountExactly) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.SetDefault({.body = ChatResponse(kGood)});
  std::vector<std::future<int>> done;
  for (int t = 0; t < 4; ++t) {
    done.push_back(std::async(std::launch::async, [&] {
      int helpful = 0;
      for (int i = 0; i < 5; ++i) {
        auto a = annotator->Annotate(One("You see a key."), {});
        helpful += a.ok() && a->label == Label::kHelpful;
      }
      return helpful;
    }));
  }
  for (auto& f : done) EXPECT_EQ(f.get(), 5);
  EXPECT_EQ(CountsOf(*annotator), (Counts{20, 0, 0, 0, 0}));
}

TEST(LlmAnnotatorCreateTest, ReportsBadPromptsAndEndpoints) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "lantern_llm_create";
  std::filesystem::create_directories(dir);
  auto config = TestConfig("http://127.0.0.1:1");
  config.classification_prompt = (dir / "nope.txt").string();
  auto missing = LlmAnnotator::Create(config);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.txt"), std::string::npos);

  config = TestConfig("http://127.0.0.1:1");
  config.ranking_prompt = (dir / "empty.txt").string();
  std::ofstream(config.ranking_prompt) << "# just a comment\n";
  auto empty = LlmAnnotator::Create(config);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("empty.txt"), std::string::npos)
      << empty.status();

  config = TestConfig("http://127.0.0.1:1");
  config.endpoint = "responses";
  EXPECT_EQ(LlmAnnotator::Create(config).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lantern::reward::testing
