#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <random>

#include "reward_server/llm/llm_annotator.h"
#include "testing/local.h"
#include "tests/reward_server/llm/llm_annotator_test_util.h"
#include "tests/reward_server/llm/scripted_server.h"

namespace lantern::reward::testing {
namespace {

using std::chrono::steady_clock;

TEST_F(LlmAnnotatorTest, SlowAnswerTimesOutAndIsRetried) {
  auto config = TestConfig(server_.url());
  config.timeout_s = 0.2;
  config.max_retries = 1;
  auto annotator = Make(config);
  server_.SetDefault({.status = 200, .body = "", .hang = true});
  const auto start = steady_clock::now();
  auto a = annotator->Annotate(One("x"), {});
  EXPECT_LT(SecondsSince(start), 3.0);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(a.status().message().find("2 attempts"), std::string::npos)
      << a.status();
  EXPECT_EQ(CountsOf(*annotator), (Counts{2, 1, 2, 2, 0}));
}

TEST_F(LlmAnnotatorTest, ServerErrorThenSuccess) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.Push({.status = 500, .body = "boom"});
  server_.Push({.body = ChatResponse(kGood)});
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kHelpful);
  EXPECT_EQ(CountsOf(*annotator), (Counts{2, 1, 1, 0, 0}));
}

TEST_F(LlmAnnotatorTest, RateLimitIsRetried) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.Push({.status = 429, .body = "slow down"});
  server_.Push({.status = 429, .body = "slow down"});
  server_.Push({.body = ChatResponse(kGood)});
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kHelpful);
  EXPECT_EQ(CountsOf(*annotator), (Counts{3, 2, 2, 0, 0}));
}

TEST_F(LlmAnnotatorTest, BadRequestIsNotRetried) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.Push(
      {.status = 400, .body = "{\"error\":\"failed to parse grammar\"}"});
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("HTTP 400"), std::string::npos);
  EXPECT_NE(a.status().message().find("failed to parse grammar"),
            std::string::npos)
      << a.status();
  EXPECT_EQ(CountsOf(*annotator), (Counts{1, 0, 1, 0, 0}));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(LlmAnnotatorTest, UnauthorizedIsNotRetried) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.Push({.status = 401, .body = "bad key"});
  auto a = annotator->Annotate(One("x"), {});
  EXPECT_EQ(a.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CountsOf(*annotator), (Counts{1, 0, 1, 0, 0}));
}

TEST_F(LlmAnnotatorTest, ServerErrorsExhaustTheRetries) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.SetDefault({.status = 503, .body = "model loading"});
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(a.status().message().find("HTTP 503: model loading"),
            std::string::npos)
      << a.status();
  EXPECT_NE(a.status().message().find("3 attempts"), std::string::npos);
  EXPECT_EQ(CountsOf(*annotator), (Counts{3, 2, 3, 0, 0}));
}

TEST_F(LlmAnnotatorTest, ConnectionRefusedIsRetriedThenUnavailable) {
  auto annotator =
      Make(TestConfig("http://127.0.0.1:" +
                      std::to_string(::lantern::testing::PickFreePort())));
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kUnavailable) << a.status();
  EXPECT_EQ(CountsOf(*annotator), (Counts{3, 2, 3, 0, 0}));
}

TEST_F(LlmAnnotatorTest, ErrorsAndReasksShareOneCall) {
  auto annotator = Make(TestConfig(server_.url()));
  server_.Push({.status = 502, .body = ""});
  server_.Push({.body = ChatResponse("Label: helpful or unhelpful")});
  server_.Push({.body = ChatResponse(kGood)});
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->label, Label::kHelpful);
  EXPECT_EQ(CountsOf(*annotator), (Counts{3, 2, 1, 0, 1}));
}

TEST(BackoffTest, DoublesFromInitialAndNeverExceedsTheCap) {
  EXPECT_DOUBLE_EQ(BackoffCeiling(0, 0.25, 8), 0.25);
  EXPECT_DOUBLE_EQ(BackoffCeiling(1, 0.25, 8), 0.5);
  EXPECT_DOUBLE_EQ(BackoffCeiling(4, 0.25, 8), 4);
  EXPECT_DOUBLE_EQ(BackoffCeiling(5, 0.25, 8), 8);
  EXPECT_DOUBLE_EQ(BackoffCeiling(100000, 0.25, 8), 8);
  EXPECT_DOUBLE_EQ(BackoffCeiling(0, 5, 1), 1);  // cap below initial
  EXPECT_DOUBLE_EQ(BackoffCeiling(3, 0, 8), 0);
  std::mt19937_64 rng(7);
  for (int64_t retry = 0; retry < 80; ++retry) {
    double largest = 0;
    for (int i = 0; i < 200; ++i) {
      const double d = JitteredBackoff(retry, 0.001, 0.004, rng);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, BackoffCeiling(retry, 0.001, 0.004));
      largest = std::max(largest, d);
    }
    EXPECT_GT(largest, 0.5 * BackoffCeiling(retry, 0.001, 0.004));  // jitter
  }
}

TEST_F(LlmAnnotatorTest, RetrySpacingStaysUnderTheCap) {
  auto config = TestConfig(server_.url());
  config.max_retries = 8;
  config.backoff_initial_s = 0.05;
  config.backoff_max_s = 0.1;  // uncapped, retry 7 could wait 6.4 s
  auto annotator = Make(config);
  for (int i = 0; i < 8; ++i) server_.Push({.status = 500, .body = "x"});
  server_.Push({.body = ChatResponse(kGood)});
  const auto start = steady_clock::now();
  auto a = annotator->Annotate(One("x"), {});
  ASSERT_TRUE(a.ok()) << a.status();
  // Capped: at most 8 x 0.1 s of waits; uncapped, about 6 s on average.
  EXPECT_LT(SecondsSince(start), 3.0);
  EXPECT_EQ(CountsOf(*annotator), (Counts{9, 8, 8, 0, 0}));
  const auto requests = server_.requests();
  for (size_t i = 1; i < requests.size(); ++i) {
    const double gap = std::chrono::duration<double>(requests[i].arrived -
                                                     requests[i - 1].arrived)
                           .count();
    // The cap, and a second for the request itself on a loaded machine.
    EXPECT_LT(gap, 0.1 + 1.0) << "retry " << i;
  }
}

TEST_F(LlmAnnotatorTest, StopInterruptsTheBackoffSleep) {
  auto config = TestConfig(server_.url());
  config.max_retries = 100;
  config.backoff_initial_s = 30;
  config.backoff_max_s = 30;
  auto annotator = Make(config);
  server_.SetDefault({.status = 500, .body = "down"});
  std::stop_source stop;
  auto result = std::async(std::launch::async, [&] {
    return annotator->Annotate(One("x"), stop.get_token());
  });
  ASSERT_TRUE(server_.WaitForRequests(1));
  const auto stopped = steady_clock::now();
  stop.request_stop();
  auto a = result.get();
  EXPECT_LT(SecondsSince(stopped), 5.0);  // the wait was for 30 s
  EXPECT_EQ(a.status().code(), absl::StatusCode::kCancelled) << a.status();
  EXPECT_GE(annotator->counters().attempts, 1u);
  EXPECT_EQ(annotator->counters().timeouts, 0u);
}

TEST_F(LlmAnnotatorTest, StopInterruptsASlowRequest) {
  auto config = TestConfig(server_.url());
  config.timeout_s = 30;
  auto annotator = Make(config);
  server_.SetDefault({.status = 200, .body = "", .hang = true});
  std::stop_source stop;
  auto result = std::async(std::launch::async, [&] {
    return annotator->Annotate(One("x"), stop.get_token());
  });
  ASSERT_TRUE(server_.WaitForRequests(1));
  const auto stopped = steady_clock::now();
  stop.request_stop();
  auto a = result.get();
  EXPECT_LT(SecondsSince(stopped), 5.0);  // the timeout is 30 s
  EXPECT_EQ(a.status().code(), absl::StatusCode::kCancelled) << a.status();
  EXPECT_EQ(CountsOf(*annotator), (Counts{1, 0, 0, 0, 0}));
}

TEST_F(LlmAnnotatorTest, AlreadyStoppedSendsNothing) {
  auto annotator = Make(TestConfig(server_.url()));
  std::stop_source stop;
  stop.request_stop();
  auto a = annotator->Annotate(One("x"), stop.get_token());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(CountsOf(*annotator), (Counts{0, 0, 0, 0, 0}));
  EXPECT_EQ(server_.request_count(), 0u);
}

}  // namespace
}  // namespace lantern::reward::testing
