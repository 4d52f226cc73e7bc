#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"

namespace lantern::actor {

struct EvalOptions {
  int64_t episodes = 100;
  bool greedy = false;       // argmax actions; else sampled, as in training
  uint64_t seed = 20261126;  // env and sampling seed: other episodes than
                             // the actors played
  std::string replay_dir;    // empty: no replays
  int64_t replays = 3;       // episodes recorded (the first ones)
  double frame_s = 0.15;     // replay seconds per step
};

struct EvalResult {
  int64_t episodes = 0;
  double mean_return = 0;  // extrinsic, as the learner reports it
  double success_rate = 0;
  double mean_length = 0;
  double mean_intrinsic = 0;  // per step, shaped; 0 without a reward model
  int64_t updates = 0;        // of the checkpoint's policy
  int64_t reward_model_version = -1;
  std::vector<std::string> replays;  // paths written
  std::string checkpoint_warning;    // set when the previous one was used
};

// Plays `options.episodes` episodes of config.env with the policy in
// <run_dir>/checkpoints (the newest good checkpoint) on the CPU, one env.
// With a reward model in the config and <run_dir>/reward_model.bin, each
// step's intrinsic reward (r_int, and shaped by N_ep^-beta and
// intrinsic_coef) is computed as the learner would and shown in the
// replays (asciicast v2, <replay_dir>/episode-<k>.cast). NOT_FOUND without
// a checkpoint; DATA_LOSS if it is unusable or does not fit the config.
absl::StatusOr<EvalResult> Evaluate(const common::Config& config,
                                    const std::string& run_dir,
                                    const EvalOptions& options);

}  // namespace lantern::actor
