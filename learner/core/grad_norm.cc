#include "learner/core/grad_norm.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace lantern::core {

at::Tensor ClipGradNorm(const std::vector<at::Tensor>& params,
                        double max_norm) {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  std::vector<at::Tensor> norms;
  grads.reserve(params.size());
  norms.reserve(params.size());
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    grads.push_back(p.grad());
    norms.push_back(p.grad().norm());
  }
  if (norms.empty()) return at::zeros({}, at::kFloat);
  at::Tensor total = at::stack(norms).norm();
  if (max_norm > 0) {
    const at::Tensor coef =
        (total + 1e-6).reciprocal().mul_(max_norm).clamp_max_(1.0);
    for (auto& g : grads) g.mul_(coef);
  }
  return total;
}

}  // namespace lantern::core
