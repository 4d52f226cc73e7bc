#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace lantern::core {

// torch::nn::utils::clip_grad_norm_ (L2, same 1e-6 epsilon) without its
// .item(): the norm stays a device tensor, so a CUDA step does not stall
// between backward and the optimizer. Returns the norm before clipping;
// max_norm <= 0 only measures. Parameters without a gradient are skipped.
at::Tensor ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm);

// The same on the gradients themselves (scaled in place).
at::Tensor ClipGradients(const std::vector<at::Tensor>& grads, double max_norm);

}  // namespace lantern::core
