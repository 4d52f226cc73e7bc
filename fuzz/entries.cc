#include "fuzz/entries.h"

#include "actor/envs/nethack/status.h"
#include "common/config.h"
#include "lantern/v1/learner.pb.h"
#include "learner/trajectory_spec.h"
#include "reward_server/llm/llm_answer.h"
#include "tests/learner/test_trajectories.h"

namespace lantern::fuzz {

void Trajectory(std::string_view data) {
  v1::Trajectory t;
  if (!t.ParseFromArray(data.data(), int(data.size()))) return;
  const learner::TrajectorySpec spec = learner::test::TestSpec(/*state=*/4);
  if (learner::ValidateTrajectory(t, spec).ok()) {
    // What the learner reads from a valid trajectory must be in bounds.
    const int64_t steps = spec.unroll * int64_t(t.actions().shape(1));
    for (int64_t i = 0; i < steps; ++i) (void)learner::CaptionAt(t, i);
  }
}

void Config(std::string_view data) {
  (void)common::ParseConfig(std::string(data), "fuzz.yaml", {});
}

void StatusLines(std::string_view data) {
  const size_t newline = data.find('\n');
  actor::nethack::Status status;
  (void)actor::nethack::ParseStatus(data.substr(0, newline),
                                    newline == std::string_view::npos
                                        ? std::string_view()
                                        : data.substr(newline + 1),
                                    &status);
}

void LlmAnswer(std::string_view data) {
  if (data.empty()) return;
  const std::string_view rest = data.substr(1);
  switch (data[0] % 4) {
    case 0:
      (void)reward::llm::ParseAnswer(reward::llm::Task::kClassify, rest);
      break;
    case 1:
      (void)reward::llm::ParseAnswer(reward::llm::Task::kRank, rest);
      break;
    case 2:
      (void)reward::llm::ExtractResponseText(rest,
                                             reward::llm::Endpoint::kChat);
      break;
    default:
      (void)reward::llm::ExtractResponseText(
          rest, reward::llm::Endpoint::kCompletions);
  }
}

const std::vector<Target>& Targets() {
  static const std::vector<Target> targets = {{"trajectory", Trajectory},
                                              {"config", Config},
                                              {"status_lines", StatusLines},
                                              {"llm_answer", LlmAnswer}};
  return targets;
}

std::vector<std::pair<std::string, std::string>> Seeds(
    std::string_view target) {
  if (target != "trajectory") return {};
  std::vector<std::pair<std::string, std::string>> seeds;
  const learner::TrajectorySpec spec = learner::test::TestSpec(/*state=*/4);
  for (int64_t envs : {1, 3}) {
    v1::Trajectory t = learner::test::MakeTrajectory(spec, 1, 0, envs);
    seeds.emplace_back("valid_" + std::to_string(envs) + "_envs",
                       t.SerializeAsString());
  }
  return seeds;
}

}  // namespace lantern::fuzz
