#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lantern::learner {

struct EpisodeRecord {
  double episode_return = 0;
  int64_t length = 0;
  bool success = false;
};

// Everything a learner needs to continue a run.
struct CheckpointState {
  int64_t env_steps = 0;
  int64_t episodes = 0;
  int64_t updates = 0;
  int64_t seed = 0;
  std::string consumed_ledger;        // DeliveryLedger text
  std::vector<EpisodeRecord> recent;  // last episodes, oldest first
  std::string updater;                // core::Updater::Save bytes
  std::string rng;                    // torch's CPU generator state
  // The reward model the learner was using (a serialized v1::RewardModel;
  // empty: none yet), so a restart shapes rewards with it at once, even
  // with the reward server down.
  std::string reward_model;
  // Captions the reward server has acknowledged: not offered again.
  std::vector<std::string> seen_captions;
};

// Writes `state` to <dir>/checkpoint.bin atomically (the previous file is
// kept as checkpoint.prev.bin), with a checksum over the whole file.
// Format 2; LoadCheckpoint also reads format 1 (no rng, reward model or
// captions).
absl::Status SaveCheckpoint(const std::string& dir,
                            const CheckpointState& state);

// The state of torch's default CPU generator, for CheckpointState::rng.
std::string CpuRngState();

// Sets torch's default CPU generator to `state` (from CpuRngState).
// DATA_LOSS when it is not a state this build can use.
absl::Status RestoreCpuRng(const std::string& state);

// Reads <dir>/checkpoint.bin. NOT_FOUND when there is none; when it is
// corrupt or truncated, falls back to checkpoint.prev.bin, and fails with
// DATA_LOSS naming the file if neither is usable. `warning` (optional)
// receives a message when the fallback was used.
absl::StatusOr<CheckpointState> LoadCheckpoint(const std::string& dir,
                                               std::string* warning = nullptr);

}  // namespace lantern::learner
