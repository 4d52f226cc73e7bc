#pragma once

#include <torch/nn/module.h>

#include <string_view>

#include "absl/status/status.h"
#include "lantern/v1/tensor.pb.h"

namespace lantern::learner {

// A module's parameters and buffers on the wire (the policy's weights, a
// reward model's).
using NamedTensors = google::protobuf::RepeatedPtrField<v1::NamedTensor>;

// Replaces `out` with every parameter and buffer of `module` (by name,
// float32, CPU).
void ExportWeights(const torch::nn::Module& module, NamedTensors* out);

// Loads weights into `module` in place. Every parameter and buffer must be
// present with the same shape and dtype; otherwise INVALID_ARGUMENT names
// `what` and the first mismatch, and `module` is left unchanged.
absl::Status ImportWeights(const NamedTensors& tensors,
                           torch::nn::Module& module,
                           std::string_view what = "policy weights");

}  // namespace lantern::learner
