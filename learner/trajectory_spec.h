#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "actor/env.h"
#include "lantern/v1/learner.pb.h"

namespace lantern::learner {

// The shapes every trajectory must have; the learner derives it from the
// config and its environment, and refuses anything else.
struct TrajectorySpec {
  int64_t unroll = 0;  // T
  int64_t crop = 0;
  int64_t num_stats = 0;
  int64_t message_len = 0;
  int64_t num_actions = 0;
  int64_t state_size = 0;   // H; 0 without a recurrent core
  int64_t max_envs = 4096;  // N per trajectory at most
  int64_t max_caption_bytes = actor::kMaxCaptionBytes;
  int64_t max_bytes = 64 << 20;  // serialized size of one trajectory
};

// Checks a received trajectory against `spec` before anything is allocated
// for it or any state changes: every tensor's dtype and shape, data sizes,
// finite floats, actions in range, dones 0/1, caption count and size,
// caption counts >= 1, episode stats finite. Returns INVALID_ARGUMENT with
// the first reason found. Thread-safe (pure).
absl::Status ValidateTrajectory(const v1::Trajectory& t,
                                const TrajectorySpec& spec);

// Packs one caption per step (t-major) into caption_bytes/caption_offsets.
void PackCaptions(const std::vector<std::string>& captions, v1::Trajectory* t);

// Caption `i` (= t*N + n) of a validated trajectory.
std::string_view CaptionAt(const v1::Trajectory& t, int64_t i);

// Short, stable category of a validation error ("shape", "dtype", ...), for
// the per-reason rejection counters.
std::string RejectionKind(const absl::Status& status);

}  // namespace lantern::learner
