#include "actor/evaluator.h"

#include <torch/torch.h>

#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "absl/strings/str_format.h"
#include "actor/asciicast.h"
#include "actor/env_factory.h"
#include "common/files.h"
#include "learner/checkpoint.h"
#include "learner/core/updater.h"
#include "learner/intrinsic_reward.h"
#include "learner/policy_config.h"
#include "learner/reward_shaping.h"

namespace lantern::actor {
namespace {

// The reward model the run's reward server saved, if the config uses one.
absl::StatusOr<std::unique_ptr<learner::IntrinsicReward>> LoadRewardModel(
    const common::Config& config, const std::string& run_dir) {
  if (config.reward.model_kind == "none") return nullptr;
  const std::string path = run_dir + "/reward_model.bin";
  absl::StatusOr<std::string> bytes = common::ReadFile(path);
  if (!bytes.ok()) return nullptr;  // the server never published one
  v1::RewardModel model;
  if (!model.ParseFromString(*bytes)) {
    return absl::DataLossError(path + " does not parse as a reward model");
  }
  auto reward = std::make_unique<learner::IntrinsicReward>(
      config.reward, /*background=*/false);
  if (absl::Status st = reward->SetModel(model); !st.ok()) return st;
  return reward;
}

}  // namespace

absl::StatusOr<EvalResult> Evaluate(const common::Config& config,
                                    const std::string& run_dir,
                                    const EvalOptions& options) {
  absl::StatusOr<learner::TrajectorySpec> spec = learner::SpecFor(config);
  if (!spec.ok()) return spec.status();
  std::string warning;
  absl::StatusOr<learner::CheckpointState> checkpoint =
      learner::LoadCheckpoint(run_dir + "/checkpoints", &warning);
  if (!checkpoint.ok()) return checkpoint.status();
  core::Updater updater(learner::ModelOptionsFor(config, *spec),
                        core::UpdateOptions(), torch::Device(torch::kCPU));
  try {
    std::istringstream in(checkpoint->updater);
    updater.Load(in);
  } catch (const c10::Error& e) {
    return absl::DataLossError(
        std::string("checkpoint does not fit this config's model: ") +
        e.what_without_backtrace());
  }
  absl::StatusOr<std::unique_ptr<learner::IntrinsicReward>> reward =
      LoadRewardModel(config, run_dir);
  if (!reward.ok()) return reward.status();
  absl::StatusOr<std::unique_ptr<Env>> made = MakeEnv(config.env, options.seed);
  if (!made.ok()) return made.status();
  Env& env = **made;
  torch::manual_seed(options.seed);
  if (!options.replay_dir.empty()) {
    std::filesystem::create_directories(options.replay_dir);
  }

  core::PolicyNet& policy = updater.model();
  policy->eval();
  torch::NoGradGuard no_grad;
  const learner::TrajectorySpec& s = *spec;
  torch::Tensor chars = torch::zeros({1, 1, s.crop, s.crop}, torch::kUInt8);
  torch::Tensor stats = torch::zeros({1, 1, s.num_stats}, torch::kFloat32);
  torch::Tensor message = torch::zeros({1, 1, s.message_len}, torch::kUInt8);
  const torch::Tensor first = torch::zeros({1, 1}, torch::kUInt8);
  const ObsView view{chars.data_ptr<uint8_t>(), stats.data_ptr<float>(),
                     message.data_ptr<uint8_t>()};

  EvalResult result;
  result.checkpoint_warning = warning;
  result.updates = updater.num_updates();
  result.reward_model_version = *reward ? (*reward)->version() : -1;
  double total_steps = 0, total_intrinsic = 0;
  for (int64_t k = 0; k < options.episodes; ++k) {
    if (k > 0) env.Reset();  // MakeEnv's env has started episode 0
    std::unique_ptr<Asciicast> cast;
    if (!options.replay_dir.empty() && k < options.replays) {
      const Frame f = env.Render();
      const std::string path =
          options.replay_dir + "/episode-" + std::to_string(k) + ".cast";
      absl::StatusOr<std::unique_ptr<Asciicast>> c = Asciicast::Create(
          path, std::max(f.cols, 80), f.rows + 3,
          absl::StrFormat("Lantern eval: %s/%s, policy after %d updates, "
                          "episode %d",
                          config.env.kind, config.env.task, result.updates, k));
      if (!c.ok()) return c.status();
      cast = *std::move(c);
      result.replays.push_back(path);
      if (absl::Status st =
              cast->Show(0, f,
                         {"episode " + std::to_string(k) + ", start",
                          "caption: " + std::string(env.Caption()), ""});
          !st.ok()) {
        return st;
      }
    }
    torch::Tensor state = policy->InitialState(1);
    std::unordered_map<std::string, int> counts;
    double episode_return = 0;
    int64_t length = 0;
    for (bool done = false; !done;) {
      env.Observe(view);
      core::PolicyOutput out =
          policy->forward(chars, stats, message, first, state);
      state = out.state;
      const torch::Tensor logits = out.logits[0][0];
      const int action =
          options.greedy ? int(logits.argmax().item<int64_t>())
                         : int(torch::multinomial(torch::softmax(logits, -1), 1)
                                   .item<int64_t>());
      const StepResult r = env.Step(action);
      done = r.done;
      ++length;
      episode_return += r.reward;
      const std::string caption(env.Caption());
      double r_int = 0, shaped = 0;
      if (!caption.empty() && *reward) {
        const int n = ++counts[caption];
        const torch::Tensor r = (*reward)->Compute({caption}, 1, 1).r_int;
        r_int = r.item<float>();
        // The learner's own shaping: c_int * r_int * N_ep^-beta.
        shaped =
            learner::IntrinsicTerm(r, torch::full({1, 1}, n), config.reward)
                .item<float>();
      }
      total_intrinsic += shaped;
      if (cast) {
        const std::string info = absl::StrFormat(
            "episode %d  step %d  action %d  reward %.2f  return %.2f%s", k,
            length, action, r.reward, episode_return,
            done ? (r.success ? "  SUCCESS" : "  (ended)") : "");
        const std::string intrinsic =
            *reward ? absl::StrFormat("r_int %.3f  shaped %.4f", r_int, shaped)
                    : std::string("no reward model");
        if (absl::Status st =
                cast->Show(options.frame_s * double(length), env.Render(),
                           {info, "caption: " + caption, intrinsic});
            !st.ok()) {
          return st;
        }
      }
      if (done) {
        result.success_rate += r.success ? 1 : 0;
      }
    }
    result.mean_return += episode_return;
    result.mean_length += double(length);
    total_steps += double(length);
  }
  const double n = double(std::max<int64_t>(options.episodes, 1));
  result.episodes = options.episodes;
  result.mean_return /= n;
  result.success_rate /= n;
  result.mean_length /= n;
  result.mean_intrinsic = total_steps > 0 ? total_intrinsic / total_steps : 0;
  return result;
}

}  // namespace lantern::actor
