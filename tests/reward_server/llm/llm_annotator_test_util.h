#pragma once

// Shared by the LlmAnnotator tests: a config pointing at a ScriptedServer,
// exact counter snapshots, and the fixture.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "common/config.h"
#include "reward_server/llm/llm_annotator.h"
#include "tests/reward_server/llm/scripted_server.h"

namespace lantern::reward::testing {

inline constexpr char kKeyEnv[] = "LANTERN_LLM_ANNOTATOR_TEST_KEY";
inline constexpr char kGood[] =
    "Analysis: a key opens the locked door.\nLabel: helpful";

struct Counts {
  uint64_t attempts, retries, errors, timeouts, unknown;
  bool operator==(const Counts&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "{attempts " << c.attempts << ", retries " << c.retries
            << ", errors " << c.errors << ", timeouts " << c.timeouts
            << ", unknown " << c.unknown << "}";
}
inline Counts CountsOf(const Annotator& a) {
  const AnnotatorCounters& c = a.counters();
  return {c.attempts, c.retries, c.errors, c.timeouts, c.unknown_answers};
}

inline Query One(std::string caption) {
  Query q;
  q.first = std::move(caption);
  return q;
}

inline double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

inline common::AnnotatorConfig TestConfig(const std::string& url) {
  const std::string prompts =
      std::string(LANTERN_SOURCE_DIR) + "/configs/prompts";
  common::AnnotatorConfig c;
  c.kind = "llm";
  c.url = url;
  c.goal = "find the key, unlock the door and go down the stairs";
  c.classification_prompt = prompts + "/classify_oni.txt";
  c.ranking_prompt = prompts + "/rank_motif.txt";
  c.api_key_env = kKeyEnv;
  c.llm_model = "annot";
  c.prompt_version = "oni-v1";
  c.max_tokens = 48;
  c.temperature = 0.25;
  c.timeout_s = 5;
  c.max_retries = 2;
  c.backoff_initial_s = 0.001;
  c.backoff_max_s = 0.004;
  c.unknown_retries = 2;
  return c;
}

inline std::unique_ptr<LlmAnnotator> Make(
    const common::AnnotatorConfig& config) {
  auto annotator = LlmAnnotator::Create(config);
  EXPECT_TRUE(annotator.ok()) << annotator.status();
  return annotator.ok() ? *std::move(annotator) : nullptr;
}

class LlmAnnotatorTest : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv(kKeyEnv); }
  void TearDown() override { unsetenv(kKeyEnv); }
  ScriptedServer server_;
};

}  // namespace lantern::reward::testing
