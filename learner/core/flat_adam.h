// Adam over one flat buffer: every parameter of a module becomes a view into
// one contiguous tensor, and so does every gradient, so clipping and the
// optimizer step are a handful of kernels however many tensors the network
// has. The step count and the bias corrections stay on the device, so a
// whole update can be captured in a CUDA graph and replayed.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace lantern::core {

struct AdamOptions {
  double learning_rate = 5e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-6;
};

// torch.optim.Adam (no weight decay, no amsgrad), with
// torch.nn.utils.clip_grad_norm_ before each step. One thread at a time.
class FlatAdam {
 public:
  // Makes `params` (all on one device, float32) views into one buffer and
  // their gradients views into another (zeroed). Must be called again
  // (Reflatten) whenever something replaces a parameter's storage, as
  // Module::load does.
  FlatAdam(std::vector<at::Tensor> params, const AdamOptions& options);

  // Views the current parameter values into a fresh buffer again, keeping
  // the moments.
  void Reflatten();

  // Zeroes every gradient (one kernel); backward then accumulates into them.
  void ZeroGrad();

  // Scales the gradients so their global L2 norm is at most max_norm
  // (factor max_norm / (norm + 1e-6), as torch's clip_grad_norm_; max_norm
  // <= 0 only measures) and returns the norm before clipping, on the device.
  at::Tensor ClipGradNorm(double max_norm);

  // One Adam step from the gradients. Syncs nothing with the host.
  void Step();

  int64_t size() const { return values_.numel(); }

  // The optimizer state for checkpoints: {step [1] int64, exp_avg [size],
  // exp_avg_sq [size]}, on the parameters' device.
  std::vector<at::Tensor> State() const;
  // Restores what State() returned (any device). Throws c10::Error on a
  // size mismatch.
  void SetState(const std::vector<at::Tensor>& state);

 private:
  std::vector<at::Tensor> params_;
  AdamOptions options_;
  at::Tensor values_;      // [size] the parameters, flat
  at::Tensor grads_;       // [size] their gradients, flat
  at::Tensor exp_avg_;     // [size]
  at::Tensor exp_avg_sq_;  // [size]
  at::Tensor step_;        // [1] float, the number of steps taken
};

}  // namespace lantern::core
