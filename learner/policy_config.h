#pragma once

#include "absl/status/statusor.h"
#include "common/config.h"
#include "learner/core/model.h"
#include "learner/trajectory_spec.h"

namespace lantern::learner {

// The trajectory shapes that `config` implies (it builds one environment to
// read its observation spec). INVALID_ARGUMENT if the env cannot be built.
absl::StatusOr<TrajectorySpec> SpecFor(const common::Config& config);

// The policy network's options for `config` and `spec`; the learner and the
// actors must agree on them, so both call this.
core::ModelOptions ModelOptionsFor(const common::Config& config,
                                   const TrajectorySpec& spec);

}  // namespace lantern::learner
