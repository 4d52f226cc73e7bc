#pragma once

#include <spdlog/logger.h>

#include <string>

#include "common/config.h"
#include "common/scalar_log.h"
#include "lantern/v1/learner.pb.h"

namespace lantern::learner {

// Progress toward the nearer of run.max_env_steps and run.max_wall_s (the
// run stops at the first one reached) and the seconds left at the current
// rate (-1 when unknown), into `s`.
void SetProgress(const common::RunConfig& run, int64_t env_steps,
                 double steps_per_s, double wall, v1::LearnerStatus* s);

// 75 -> "1m15s", 7300 -> "2h01m", -1 -> "?".
std::string FormatDuration(double seconds);

// Logs the periodic stats lines for `s` (with the reward line when the run
// has a reward model). Thread-safe as spdlog is.
void LogStats(spdlog::logger& log, const v1::LearnerStatus& s,
              bool with_reward);

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
