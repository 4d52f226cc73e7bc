#pragma once

#include <torch/nn/module.h>

#include "absl/status/status.h"
#include "lantern/v1/learner.pb.h"

namespace lantern::learner {

// Copies every parameter and buffer of `module` (by name, float32, CPU) into
// `out` with the given version.
void ExportWeights(const torch::nn::Module& module, int64_t version,
                   v1::PolicyWeights* out);

// Loads weights into `module` in place. Every parameter and buffer must be
// present with the same shape and dtype; otherwise INVALID_ARGUMENT names the
// first mismatch and `module` is left unchanged.
absl::Status ImportWeights(const v1::PolicyWeights& weights,
                           torch::nn::Module& module);

}  // namespace lantern::learner
