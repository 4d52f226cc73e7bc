#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "actor/env.h"
#include "common/config.h"

namespace lantern::actor {

// Builds one environment of the configured family with its own seed.
// INVALID_ARGUMENT (naming the env.* keys) if the options cannot work.
absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const common::EnvConfig& config,
                                             uint64_t seed);

}  // namespace lantern::actor
