// The reward server against the real llama.cpp server (a random-weight
// model of SmolLM2-135M's shape from scripts/llm_server.sh: its labels are
// noise, so only protocol, counts and durability are checked).
#include <gtest/gtest.h>
#include <signal.h>

#include "common/grpc_util.h"
#include "reward_server/store/label_store.h"
#include "testing/llama_server.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

TEST(LlamaServerTest, LabelsEachCaptionOnceAndSurvivesTheServersRestart) {
  constexpr int kCaptions = 24;
  absl::StatusOr<std::unique_ptr<testing::LlamaServer>> llama =
      testing::LlamaServer::Start(LANTERN_SOURCE_DIR, 0, /*slots=*/2);
  ASSERT_TRUE(llama.ok()) << llama.status();
  TestRun run("llama",
              {"reward.model_kind=retrieval", "annotator.kind=llm",
               "annotator.url=" + (*llama)->url(), "annotator.concurrency=2",
               "annotator.timeout_s=20", "annotator.backoff_initial_s=0.1",
               "annotator.backoff_max_s=1",
               "annotator.classification_prompt=" LANTERN_SOURCE_DIR
               "/configs/prompts/classify_oni.txt",
               "annotator.ranking_prompt=" LANTERN_SOURCE_DIR
               "/configs/prompts/rank_motif.txt"});
  run.StartRewardServer();
  auto stub = v1::RewardServer::NewStub(
      common::MakeChannel(run.reward_address(), 64 << 20));
  v1::SubmitCaptionsRequest request;
  for (int i = 0; i < kCaptions; ++i) {
    request.add_captions("You see a scroll labelled " + std::to_string(i) +
                         ".");
  }
  for (int i = 0; i < 6; ++i) request.add_captions(request.captions(i));
  grpc::ClientContext context;
  v1::SubmitCaptionsResponse response;
  ASSERT_TRUE(stub->SubmitCaptions(&context, request, &response).ok());
  EXPECT_EQ(response.added(), uint32_t(kCaptions));
  EXPECT_EQ(response.known(), 6u);

  v1::RewardStatus r;
  ASSERT_TRUE(run.WaitForReward(
      [](const v1::RewardStatus& r) { return r.labels_total() >= 4; },
      seconds(120), &r))
      << r.DebugString();
  // The LLM server dies mid-run: attempts fail, nothing is lost.
  (*llama)->Kill();
  ASSERT_TRUE(run.WaitForReward(
      [](const v1::RewardStatus& r) { return r.annotator_errors() >= 2; },
      seconds(60), &r))
      << r.DebugString();
  const uint64_t labels_while_down = r.labels_total();
  ASSERT_LT(labels_while_down, uint64_t(kCaptions));
  ASSERT_TRUE((*llama)->Restart().ok());
  // The backlog drains after it returns.
  ASSERT_TRUE(run.WaitForReward(
      [](const v1::RewardStatus& r) {
        return r.labels_total() + r.given_up() == kCaptions &&
               r.pending() == 0 && r.in_flight() == 0;
      },
      seconds(240), &r))
      << r.DebugString();
  // The grammar makes every answer parse; each caption was asked about once
  // (attempts that failed while the server was down count as retries).
  EXPECT_EQ(r.given_up(), 0u);
  EXPECT_EQ(r.annotator_requests_total(), uint64_t(kCaptions));
  EXPECT_GT(r.annotator_retries(), 0u);
  EXPECT_GT(r.latency_p50_ms(), 0);
  EXPECT_EQ(run.StopRewardServer(SIGTERM), 0);

  absl::StatusOr<std::unique_ptr<reward::LabelStore>> store =
      reward::LabelStore::Open(run.run_dir() + "/labels.sqlite");
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<reward::LabelRecord>> labels =
      (*store)->LoadLabels();
  ASSERT_TRUE(labels.ok());
  ASSERT_EQ(labels->size(), size_t(kCaptions));
  for (const reward::LabelRecord& l : *labels) {
    EXPECT_EQ(l.annotator, "llm");
    EXPECT_EQ(l.annotation.prompt_version, "oni-v1");
    EXPECT_NE(l.annotation.raw_answer.find("Label:"), std::string::npos)
        << l.annotation.raw_answer;
  }
}

}  // namespace
}  // namespace lantern::e2e
