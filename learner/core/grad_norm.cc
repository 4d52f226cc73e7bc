#include "learner/core/grad_norm.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace lantern::core {

at::Tensor ClipGradNorm(const std::vector<at::Tensor>& params,
                        double max_norm) {
  std::vector<at::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return ClipGradients(grads, max_norm);
}

at::Tensor ClipGradients(const std::vector<at::Tensor>& grads,
                         double max_norm) {
  c10::NoGradGuard no_grad;
  if (grads.empty()) return at::zeros({}, at::kFloat);
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  for (const auto& g : grads) norms.push_back(g.norm());
  const at::Tensor total =
      norms.size() == 1 ? norms[0] : at::stack(norms).norm();
  if (max_norm > 0) {
    const at::Tensor coef =
        (total + 1e-6).reciprocal().mul_(max_norm).clamp_max_(1.0);
    for (const auto& g : grads) g.mul_(coef);
  }
  return total;
}

}  // namespace lantern::core
