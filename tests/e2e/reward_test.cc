// End-to-end: the reward server with the learner and actors, and alone
// under SIGKILL, as real processes on 127.0.0.1.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/grpc_util.h"
#include "reward_server/store/label_store.h"
#include "tests/e2e/fake_llm.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

// The sparse grid task with ONI classification over embedding labels. The
// task has about a dozen captions, so ONI's schedule (32 steps per label
// batch at lr 1e-4) leaves the classifier near its initial 0.5 and whether
// a helpful caption clears the threshold is chance; these settings let it
// fit its few labels.
std::vector<std::string> OniSets() {
  return {"env.task=sparse",
          "reward.model_kind=classification",
          "reward.steps_per_label_batch=200",
          "reward.train_learning_rate=1e-3",
          "reward.train_batch_size=32",
          "reward.intrinsic_coef=0.4",
          "reward.extrinsic_coef=10",
          "reward.publish_interval_s=0.5",
          "annotator.kind=embedding",
          "annotator.concurrency=2"};
}

TEST(RewardE2eTest, OniRunLabelsEveryCaptionAndShapesTheReward) {
  TestRun run("oni", OniSets());
  run.StartRewardServer();
  run.StartLearner();
  run.StartActor(0);
  run.StartActor(1);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        const v1::RewardStatus& r = s.reward_server();
        return s.reward_model_version() >= 2 && s.intrinsic_reward_mean() > 0 &&
               r.labels_total() >= 5 && r.annotation_coverage() >= 0.95 &&
               r.pending() == 0;
      },
      seconds(150), &s))
      << s.DebugString();
  EXPECT_TRUE(s.reward_server_reachable());
  EXPECT_GE(s.captions_forwarded(), s.reward_server().labels_total());
  EXPECT_EQ(run.StopLearner(SIGTERM), 0);

  absl::StatusOr<std::string> text =
      common::ReadFile(run.run_dir() + "/summary.json");
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json summary = nlohmann::json::parse(*text);
  EXPECT_GE(summary["annotation_coverage"].get<double>(), 0.95);
  EXPECT_GT(summary["intrinsic_reward_mean"].get<double>(), 0);
  EXPECT_GE(summary["reward_model_version"].get<int64_t>(), 1);
  EXPECT_GE(summary["labels_total"].get<int64_t>(), 5);
  // The summary holds the learner's last poll of the server, taken while
  // captions still came. With the learner gone none come: the server's own
  // counts, once nothing is pending or in flight, are final. Every caption
  // asked for was labelled and stored.
  v1::RewardStatus settled;
  ASSERT_TRUE(run.WaitForReward(
      [](const v1::RewardStatus& r) {
        return r.pending() == 0 && r.in_flight() == 0;
      },
      seconds(30), &settled))
      << settled.DebugString();
  EXPECT_GE(settled.labels_total(), summary["labels_total"].get<uint64_t>());
  EXPECT_EQ(settled.annotator_requests_total(), settled.labels_total());
  const int64_t labels = int64_t(settled.labels_total());

  // What the server stored, with its metadata.
  EXPECT_EQ(run.StopRewardServer(SIGTERM), 0);
  absl::StatusOr<std::unique_ptr<reward::LabelStore>> store =
      reward::LabelStore::Open(run.run_dir() + "/labels.sqlite");
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<reward::LabelRecord>> stored =
      (*store)->LoadLabels();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(int64_t(stored->size()), labels);
  for (const reward::LabelRecord& r : *stored) {
    EXPECT_EQ(r.annotator, "embedding");
    EXPECT_EQ(r.annotation.model, "glove-100d");
    EXPECT_FALSE(r.annotation.raw_answer.empty());
  }
  EXPECT_TRUE(std::filesystem::exists(run.run_dir() + "/reward_model.bin"));
}

TEST(RewardE2eTest, LearnerTrainsWithoutTheServerAndPicksItUpLater) {
  TestRun run("offline", OniSets());
  run.set_reward_address("127.0.0.1:" + std::to_string(PickFreePort()));
  run.StartLearner();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.updates() >= 10 && s.distinct_captions() > 0;
      },
      seconds(90), &s))
      << s.DebugString();
  EXPECT_FALSE(s.reward_server_reachable());
  EXPECT_EQ(s.reward_model_version(), -1);
  EXPECT_EQ(s.intrinsic_reward_mean(), 0);
  EXPECT_EQ(s.captions_forwarded(), 0u);
  EXPECT_GT(s.caption_outbox(), 0u);

  // The server comes up where the learner looks: the captions waiting in
  // the learner's outbox arrive, and the model reaches the learner.
  run.StartRewardServer();
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.reward_model_version() >= 1 && s.captions_forwarded() > 0 &&
               s.caption_outbox() == 0 && s.reward_server_reachable();
      },
      seconds(90), &s))
      << s.DebugString();
}

TEST(RewardE2eTest, ARestartedLearnerKeepsItsRewardModelAndSeenCaptions) {
  std::vector<std::string> sets = OniSets();
  // The restarted learner listens where the actor looks.
  sets.push_back("learner.listen=127.0.0.1:" + std::to_string(PickFreePort()));
  TestRun run("resume_reward", sets);
  run.StartRewardServer();
  run.StartLearner();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.reward_model_version() >= 1 && s.captions_forwarded() > 0 &&
               s.caption_outbox() == 0;
      },
      seconds(90), &s))
      << s.DebugString();
  const uint64_t delivered = s.captions_forwarded();
  // A checkpoint written after that (every 0.5 s here), then both die.
  const std::string checkpoint = run.run_dir() + "/checkpoints/checkpoint.bin";
  auto written_at = [&] {
    std::error_code none;  // no file yet: the earliest time
    return std::filesystem::last_write_time(checkpoint, none);
  };
  const auto before = written_at();
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus&) { return written_at() > before; },
      seconds(60), &s));
  const int64_t at_kill = s.updates();
  ASSERT_EQ(run.StopLearner(SIGKILL), 128 + SIGKILL);
  ASSERT_EQ(run.StopRewardServer(SIGKILL), 128 + SIGKILL);

  // Only the learner returns: it shapes rewards with the checkpoint's model
  // and does not queue again the captions the server already has.
  run.StartLearner();
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& s) { return s.updates() > at_kill + 10; },
      seconds(60), &s))
      << s.DebugString();
  EXPECT_FALSE(s.reward_server_reachable());
  EXPECT_GE(s.reward_model_version(), 1);
  EXPECT_LT(s.caption_outbox(), delivered) << s.DebugString();
  // The checkpoint carried every caption the server had acknowledged.
  absl::StatusOr<std::string> log =
      common::ReadFile(run.run_dir() + "/logs/learner.log");
  ASSERT_TRUE(log.ok()) << log.status();
  const size_t at = log->rfind(" captions delivered");
  ASSERT_NE(at, std::string::npos) << *log;
  const size_t from = log->rfind(' ', at - 1) + 1;
  EXPECT_GE(std::stoull(log->substr(from, at - from)), delivered);
}

// The reward server alone, annotating through a slow fake LLM that counts
// the requests for each caption.
class RewardServerKillTest : public ::testing::Test {
 protected:
  static constexpr int kCaptions = 40;
  static constexpr int kConcurrency = 4;  // annotator workers

  std::vector<std::string> Sets() const {
    return {"reward.model_kind=retrieval",
            "annotator.kind=llm",
            "annotator.url=" + llm_.url(),
            "annotator.concurrency=" + std::to_string(kConcurrency),
            "annotator.timeout_s=10",
            "annotator.classification_prompt=" LANTERN_SOURCE_DIR
            "/configs/prompts/classify_oni.txt",
            "annotator.ranking_prompt=" LANTERN_SOURCE_DIR
            "/configs/prompts/rank_motif.txt"};
  }

  static std::string Caption(int i) {
    return "You see item-" + std::to_string(i) + " here.";
  }

  // Submits every caption; returns how many were new to the server.
  uint32_t SubmitAll(TestRun& run) {
    auto stub = v1::RewardServer::NewStub(
        common::MakeChannel(run.reward_address(), 64 << 20));
    v1::SubmitCaptionsRequest request;
    for (int i = 0; i < kCaptions; ++i) request.add_captions(Caption(i));
    request.add_captions(Caption(0));  // a repeat within the request
    grpc::ClientContext context;
    v1::SubmitCaptionsResponse response;
    EXPECT_TRUE(stub->SubmitCaptions(&context, request, &response).ok());
    return response.added();
  }

  FakeLlm llm_{/*delay=*/std::chrono::milliseconds(150)};
};

TEST_F(RewardServerKillTest, LabelsSurviveSigkillAndNothingIsAskedTwice) {
  TestRun run("kill", Sets());
  run.StartRewardServer();
  ASSERT_EQ(SubmitAll(run), uint32_t(kCaptions));
  v1::RewardStatus r;
  ASSERT_TRUE(run.WaitForReward(
      [](const v1::RewardStatus& r) { return r.labels_total() >= 10; },
      seconds(60), &r))
      << r.DebugString();
  // Every worker waits on a held answer, so the server sends nothing more:
  // what the model has been asked at the kill is final.
  llm_.set_hold(true);
  ASSERT_TRUE(llm_.WaitForHeld(kConcurrency, seconds(10)));
  ASSERT_EQ(run.StopRewardServer(SIGKILL), 128 + SIGKILL);
  const std::map<std::string, int> asked_at_kill = llm_.RequestsPerCaption();

  // Every label stored before the kill (stored = acknowledged: the server
  // stores a label before it counts or uses it).
  std::set<std::string> before;
  {
    absl::StatusOr<std::unique_ptr<reward::LabelStore>> store =
        reward::LabelStore::Open(run.run_dir() + "/labels.sqlite");
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::vector<reward::LabelRecord>> labels =
        (*store)->LoadLabels();
    ASSERT_TRUE(labels.ok()) << labels.status();
    for (const reward::LabelRecord& l : *labels) before.insert(l.query.first);
  }
  ASSERT_GE(before.size(), 10u);
  ASSERT_LT(before.size(), size_t(kCaptions)) << "nothing was pending";

  // The restarted server starts asking at once; held answers keep its
  // label count at what it restored until it has been read.
  run.StartRewardServer();
  ASSERT_TRUE(run.RewardStatus(&r));
  llm_.set_hold(false);
  EXPECT_EQ(r.labels_total(), before.size());
  EXPECT_EQ(r.resumed(), kCaptions - before.size());
  EXPECT_EQ(SubmitAll(run), 0u) << "the server forgot captions it had";
  ASSERT_TRUE(run.WaitForReward(
      [](const v1::RewardStatus& r) {
        return r.labels_total() == kCaptions && r.pending() == 0 &&
               r.in_flight() == 0;
      },
      seconds(60), &r))
      << r.DebugString();

  absl::StatusOr<std::unique_ptr<reward::LabelStore>> store =
      reward::LabelStore::Open(run.run_dir() + "/labels.sqlite");
  ASSERT_TRUE(store.ok());
  absl::StatusOr<std::vector<reward::LabelRecord>> labels =
      (*store)->LoadLabels();
  ASSERT_TRUE(labels.ok()) << labels.status();
  std::set<std::string> after;
  for (const reward::LabelRecord& l : *labels) after.insert(l.query.first);
  EXPECT_EQ(after.size(), size_t(kCaptions));
  for (const std::string& c : before) EXPECT_TRUE(after.count(c)) << c;

  // Labelled captions were asked once. Only those asked but not stored at
  // the kill (at the model, or answered and awaiting their commit) were
  // asked again, once.
  const std::map<std::string, int> asked = llm_.RequestsPerCaption();
  EXPECT_EQ(asked.size(), size_t(kCaptions));
  for (const auto& [caption, n] : asked) {
    const bool labelled = before.contains("You see " + caption + " here.");
    const bool lost = !labelled && asked_at_kill.contains(caption);
    EXPECT_EQ(n, lost ? 2 : 1) << caption;
  }
}

TEST_F(RewardServerKillTest, GarbageAndFailuresAreCountedNeverStored) {
  // "garbled" captions get an unparseable answer every time; the "flaky"
  // one gets HTTP 500 twice, then a good answer.
  llm_.set_faults(true);
  TestRun run("faults", Sets());
  run.StartRewardServer();
  auto stub = v1::RewardServer::NewStub(
      common::MakeChannel(run.reward_address(), 64 << 20));
  v1::SubmitCaptionsRequest request;
  for (const char* c :
       {"You see item-garbled-1 here.", "You see item-garbled-2 here.",
        "You see item-flaky-1 here.", "You see item-fine here."}) {
    request.add_captions(c);
  }
  grpc::ClientContext context;
  v1::SubmitCaptionsResponse response;
  ASSERT_TRUE(stub->SubmitCaptions(&context, request, &response).ok());
  v1::RewardStatus r;
  ASSERT_TRUE(run.WaitForReward(
      [](const v1::RewardStatus& r) {
        return r.labels_total() == 2 && r.given_up() == 2 && r.pending() == 0 &&
               r.in_flight() == 0;
      },
      seconds(60), &r))
      << r.DebugString();
  // Every unparseable answer is counted (first tries and re-asks), and the
  // 500s as errors with retries.
  EXPECT_GE(r.unknown_answers(), 2u * 3u);  // unknown_retries 2: 3 answers
  EXPECT_GE(r.annotator_errors(), 2u);
  EXPECT_GE(r.annotator_retries(), 2u);
  EXPECT_EQ(r.annotator_requests_total(), 4u);

  // An oversized or empty caption is refused with a reason, not stored.
  v1::SubmitCaptionsRequest bad;
  bad.add_captions(std::string(5000, 'x'));
  grpc::ClientContext bad_context;
  grpc::Status st = stub->SubmitCaptions(&bad_context, bad, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("limit"), std::string::npos);
  EXPECT_EQ(run.StopRewardServer(SIGTERM), 0);

  absl::StatusOr<std::unique_ptr<reward::LabelStore>> store =
      reward::LabelStore::Open(run.run_dir() + "/labels.sqlite");
  ASSERT_TRUE(store.ok());
  absl::StatusOr<reward::LabelStoreCounts> counts = (*store)->Counts();
  EXPECT_EQ(counts->labelled, 2);
  EXPECT_EQ(counts->given_up, 2);
  EXPECT_EQ(counts->pending, 0);
}

}  // namespace
}  // namespace lantern::e2e
