// lantern-eval: plays episodes with a run's checkpointed policy, prints
// mean return, success and length, and writes asciicast replays
// (`lantern eval` runs it).
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "actor/evaluator.h"
#include "common/config.h"

int main(int argc, char** argv) {
  CLI::App app("lantern-eval: evaluate a run's checkpointed policy");
  std::string run_dir, config_path;
  std::vector<std::string> sets;
  lantern::actor::EvalOptions options;
  std::string replay_dir;
  app.add_option("run_dir", run_dir,
                 "run directory (holds checkpoints/ and config.yaml)")
      ->required();
  app.add_option("--config", config_path,
                 "config (default: the run directory's config.yaml)");
  app.add_option("--set", sets, "override: section.key=value (repeatable)");
  app.add_option("--episodes", options.episodes, "episodes to play")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  app.add_flag("--greedy", options.greedy,
               "take the most likely action (default: sample, as in training)");
  app.add_option("--seed", options.seed, "env and sampling seed");
  app.add_option("--replays", options.replays,
                 "episodes to record (the first ones; 0: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  app.add_option("--replay-dir", replay_dir,
                 "where replays go (default: RUN_DIR/replays)");
  CLI11_PARSE(app, argc, argv);

  if (config_path.empty()) config_path = run_dir + "/config.yaml";
  absl::StatusOr<lantern::common::Config> config =
      lantern::common::LoadConfig(config_path, sets);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (options.replays > 0) {
    options.replay_dir = replay_dir.empty() ? run_dir + "/replays" : replay_dir;
  }
  torch::set_num_threads(1);
  try {
    absl::StatusOr<lantern::actor::EvalResult> r =
        lantern::actor::Evaluate(*config, run_dir, options);
    if (!r.ok()) {
      std::fprintf(stderr, "error: %s\n", r.status().ToString().c_str());
      return 1;
    }
    if (!r->checkpoint_warning.empty()) {
      std::fprintf(stderr, "warning: %s\n", r->checkpoint_warning.c_str());
    }
    for (const std::string& p : r->replays) {
      std::fprintf(stderr, "replay: %s (asciinema play %s)\n", p.c_str(),
                   p.c_str());
    }
    const nlohmann::json j = {{"episodes", r->episodes},
                              {"mean_return", r->mean_return},
                              {"success_rate", r->success_rate},
                              {"mean_length", r->mean_length},
                              {"mean_intrinsic_reward", r->mean_intrinsic},
                              {"policy_updates", r->updates},
                              {"reward_model_version", r->reward_model_version},
                              {"greedy", options.greedy},
                              {"replays", r->replays}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: torch: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {  // an env that failed mid-episode
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
