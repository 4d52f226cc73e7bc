#pragma once

#include <string>

#include "common/scalar_log.h"
#include "lantern/v1/learner.pb.h"

namespace lantern::learner {

// The learner's scalars for TensorBoard and the CSV (docs/observability.md
// lists the tags), from one status snapshot. The reward server's figures
// are included as last polled, so one file holds a run's curves.
// `recent_steps_per_s`: the rate since the previous row (the status's own
// rate is since the start, too smooth for a curve).
common::Scalars LearnerScalars(const v1::LearnerStatus& s,
                               double recent_steps_per_s);

// The learner's /metrics page (Prometheus text format).
std::string LearnerPrometheus(const v1::LearnerStatus& s);

}  // namespace lantern::learner
