// End-to-end: every role's /metrics, the learner's scalars read back by an
// independent reader, `lantern status` and `lantern plot`, and the
// bottleneck verdict in three set-ups forced to be slow in one place.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/strip.h"
#include "common/files.h"
#include "testing/throttled_proxy.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

// The /metrics page of the role whose address is in <metrics>/<name>.addr.
std::string Scrape(const TestRun& run, const std::string& name) {
  absl::StatusOr<std::string> addr =
      common::ReadFile(run.run_dir() + "/metrics/" + name + ".addr");
  if (!addr.ok()) return "";
  const std::string a(absl::StripAsciiWhitespace(*addr));
  httplib::Client client(a.substr(0, a.rfind(':')),
                         std::stoi(a.substr(a.rfind(':') + 1)));
  httplib::Result r = client.Get("/metrics");
  return r && r->status == 200 ? r->body : "";
}

// The value of the sample `metric` (with its labels, if any) on a page; -1
// if absent. Checks every line is a comment or a well-formed sample, and
// that a metric is a counter exactly when its name ends in "_total".
double Sample(const std::string& page, const std::string& metric) {
  static const std::regex kLine(
      R"(# (HELP|TYPE) lantern_\w+ .*|lantern_\w+(\{(\w+="[^"]*",?)+\})? \S+)");
  static const std::regex kType(R"(# TYPE (\w+) (\w+))");
  std::istringstream in(page);
  double value = -1;
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(std::regex_match(line, kLine)) << line;
    if (std::smatch type; std::regex_match(line, type, kType)) {
      EXPECT_EQ(type[1].str().ends_with("_total"), type[2] == "counter")
          << line;
    }
    if (line.rfind(metric + " ", 0) == 0) {
      value = std::stod(line.substr(metric.size() + 1));
    }
  }
  return value;
}

TEST(ObservabilityTest, EveryRoleServesMetricsAndTheRunLeavesCurves) {
  TestRun run("observe",
              {"env.task=sparse", "reward.model_kind=classification",
               "reward.intrinsic_coef=0.4", "reward.publish_interval_s=0.5",
               "annotator.kind=embedding"});
  run.StartRewardServer();
  const double queries_before =
      Sample(Scrape(run, "reward"), "lantern_reward_queries_total");
  EXPECT_EQ(queries_before, 0);
  run.StartLearner();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.updates() >= 5 && s.reward_server().labels_total() >= 1;
      },
      seconds(120), &s))
      << s.DebugString();

  // Counters rise between two scrapes of each role.
  const std::string learner1 = Scrape(run, "learner");
  const std::string actor1 = Scrape(run, "actor-0");
  ASSERT_FALSE(learner1.empty());
  ASSERT_FALSE(actor1.empty());
  const double steps1 = Sample(learner1, "lantern_env_steps_total");
  const double actor_steps1 = Sample(actor1, "lantern_actor_env_steps_total");
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return double(s.env_steps()) > steps1 + 1000;
      },
      seconds(60), &s));
  const std::string learner2 = Scrape(run, "learner");
  EXPECT_GT(Sample(learner2, "lantern_env_steps_total"), steps1);
  EXPECT_GT(Sample(learner2, "lantern_updates_total"),
            Sample(learner1, "lantern_updates_total"));
  EXPECT_EQ(Sample(learner2, "lantern_connected_actors"), 1);
  EXPECT_GE(Sample(learner2, "lantern_registrations_total"), 1);
  EXPECT_GE(Sample(learner2, R"(lantern_time_share{part="learner_wait"})"), 0);
  EXPECT_GT(Sample(Scrape(run, "actor-0"), "lantern_actor_env_steps_total"),
            actor_steps1);
  EXPECT_GT(Sample(Scrape(run, "reward"), "lantern_reward_queries_total"),
            queries_before);

  // lantern status, by run directory (the learner) and by address.
  std::string out;
  ASSERT_EQ(RunCommand(Bin("lantern") + " status " + run.run_dir(), &out), 0)
      << out;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["role"], "learner");
  EXPECT_GT(std::stoll(j["status"]["env_steps"].get<std::string>()), 0);
  out.clear();
  ASSERT_EQ(
      RunCommand(Bin("lantern") + " status " + run.reward_address(), &out), 0)
      << out;
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["role"], "reward_server");
  EXPECT_EQ(j["status"]["annotator"], "embedding");

  EXPECT_EQ(run.StopActor(0, SIGTERM), 0);
  EXPECT_EQ(run.StopLearner(SIGTERM), 0);
  EXPECT_EQ(run.StopRewardServer(SIGTERM), 0);
  out.clear();
  EXPECT_NE(RunCommand(Bin("lantern") + " status " + run.run_dir(), &out), 0);
  EXPECT_NE(out.find("learner.addr"), std::string::npos) << out;

  // The scalars, read back by an independent reader.
  const std::set<std::string> tags =
      EventTags(run.run_dir() + "/metrics/learner");
  for (const char* tag :
       {"episode/return", "episode/success_rate", "episode/length",
        "loss/total", "loss/policy", "loss/value", "loss/entropy", "policy/lag",
        "throughput/env_steps_per_s", "queue/depth", "time/learner_wait",
        "reward/intrinsic_mean", "reward/annotation_coverage",
        "reward/labels_per_s", "reward/llm_latency_p50_ms"}) {
    EXPECT_TRUE(tags.count(tag)) << tag;
  }
  const std::set<std::string> reward_tags =
      EventTags(run.run_dir() + "/metrics/reward");
  EXPECT_TRUE(reward_tags.count("labels/per_s"));
  EXPECT_TRUE(reward_tags.count("llm/latency_p50_ms"));
  EXPECT_TRUE(std::filesystem::exists(run.run_dir() + "/metrics/learner.csv"));

  // summary.json says what bounded the run.
  absl::StatusOr<std::string> text =
      common::ReadFile(run.run_dir() + "/summary.json");
  ASSERT_TRUE(text.ok());
  const nlohmann::json summary = nlohmann::json::parse(*text);
  EXPECT_TRUE(summary.contains("bottleneck"));
  EXPECT_GT(summary["time_shares"]["learner_update"].get<double>() +
                summary["time_shares"]["learner_wait"].get<double>(),
            0.99);

  // lantern plot writes the curves.
  const std::string plots = run.run_dir() + "/plots";
  out.clear();
  ASSERT_EQ(
      RunCommand(Bin("lantern") + " plot " + run.run_dir() + " --out " + plots,
                 &out),
      0)
      << out;
  for (const char* png : {"return.png", "success.png", "throughput.png",
                          "annotation_coverage.png"}) {
    absl::StatusOr<std::string> bytes = common::ReadFile(plots + "/" + png);
    ASSERT_TRUE(bytes.ok()) << png << "\n" << out;
    EXPECT_EQ(bytes->substr(0, 8), "\x89PNG\r\n\x1a\n") << png;
  }
}

// Trains until the verdict has been `expected` for 3 s in a row (60 polls;
// the shares settle within seconds); the last status for the message.
bool VerdictSettlesOn(TestRun& run, const std::string& expected,
                      v1::LearnerStatus* last) {
  int in_a_row = 0;
  const bool settled = run.WaitFor(
      [&](const v1::LearnerStatus& s) {
        in_a_row =
            s.updates() >= 3 && s.bottleneck() == expected ? in_a_row + 1 : 0;
        return in_a_row >= 60;
      },
      seconds(90), last);
  std::printf("%s: %s\n", expected.c_str(),
              last->time_shares().ShortDebugString().c_str());
  return settled;
}

TEST(BottleneckE2eTest, ASlowEnvironmentIsNamed) {
  // The real NetHack through /proc completion: ~0.1 ms a step against a few
  // microseconds of inference per env with the small policy.
  TestRun run("slow_env", {"env.kind=nethack", "env.task=staircase",
                           "env.completion=proc", "env.message_len=64"});
  ASSERT_NO_FATAL_FAILURE(run.StartLearner());
  run.StartActor(0);
  v1::LearnerStatus s;
  EXPECT_TRUE(VerdictSettlesOn(run, "env", &s)) << s.DebugString();
}

TEST(BottleneckE2eTest, ASlowLearnerIsNamed) {
  // A wide policy: an update (forward, backward, Adam) costs about three
  // times the actor's forward passes for the same steps.
  TestRun run("slow_learner",
              {"model.hidden=1024", "actor.num_envs=16",
               "learner.batch_size=64", "learner.queue_capacity=8"});
  ASSERT_NO_FATAL_FAILURE(run.StartLearner());
  run.StartActor(0);
  v1::LearnerStatus s;
  EXPECT_TRUE(VerdictSettlesOn(run, "learner", &s)) << s.DebugString();
}

TEST(BottleneckE2eTest, AThrottledNetworkIsNamed) {
  TestRun run("slow_network");
  ASSERT_NO_FATAL_FAILURE(run.StartLearner());
  // 100 KB/s from the actor to the learner: ~25 unrolls of ~4 KB a second.
  lantern::testing::ThrottledProxy proxy(run.address(), 100e3);
  run.StartActor(0, proxy.address());
  v1::LearnerStatus s;
  EXPECT_TRUE(VerdictSettlesOn(run, "transport", &s)) << s.DebugString();
}

}  // namespace
}  // namespace lantern::e2e
