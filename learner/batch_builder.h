#pragma once

#include <memory>
#include <vector>

#include "lantern/v1/learner.pb.h"
#include "learner/core/updater.h"
#include "learner/reward_shaping.h"

namespace lantern::learner {

// Joins validated trajectories side by side into one time-major [T, B]
// batch on the CPU (B = the sum of their env counts) and shapes the reward
// with `intrinsic` ([T, B] r_int; undefined: 0). When `intrinsic_mean` is
// set it receives the mean intrinsic term per step. Pure.
core::Batch BuildBatch(
    const std::vector<std::unique_ptr<v1::Trajectory>>& items,
    const common::RewardConfig& reward, const at::Tensor& intrinsic = {},
    double* intrinsic_mean = nullptr);

}  // namespace lantern::learner
