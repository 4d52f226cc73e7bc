#pragma once

#include <cstdint>

#include "learner/core/updater.h"

namespace lantern::core {

// A batch of random values with the shapes `options` gives, for
// benchmarks and tests: T = steps, B = envs; each step ends an episode with
// probability `done_rate`; a random initial state when the model is
// recurrent. Uses the global torch generator (seed it for repeatability).
Batch RandomBatch(const ModelOptions& options, int64_t steps, int64_t envs,
                  double done_rate = 0.02);

}  // namespace lantern::core
