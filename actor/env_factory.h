#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "actor/env.h"
#include "common/config.h"

namespace lantern::actor {

// The shapes an environment family produces, known without starting one.
struct EnvShape {
  ObsSpec obs;
  int num_actions = 0;
};

// Checks the env.* options (INVALID_ARGUMENT naming the keys) and returns the
// shapes. Starts nothing, reads no files: the learner calls it too.
absl::StatusOr<EnvShape> ShapeOf(const common::EnvConfig& config);

// Builds one environment of the configured family with its own seed.
// INVALID_ARGUMENT (naming the env.* keys) if the options cannot work;
// FAILED_PRECONDITION when the environment cannot start (a NetHack game that
// is not installed or does not reach its first turn; a remote server whose
// spec differs from the config); for env.kind remote, the server's status
// (UNAVAILABLE, DEADLINE_EXCEEDED, ...) when it does not answer within
// env.connect_timeout_ms. Blocks that long at most.
absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const common::EnvConfig& config,
                                             uint64_t seed);

}  // namespace lantern::actor
