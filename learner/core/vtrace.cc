#include "learner/core/vtrace.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

namespace lantern::core {

VTraceOutput VTrace(const at::Tensor& log_rhos, const at::Tensor& discounts,
                    const at::Tensor& rewards, const at::Tensor& values,
                    const at::Tensor& bootstrap_value, double rho_bar,
                    double c_bar) {
  TORCH_CHECK(log_rhos.dim() == 2, "VTrace: log_rhos must be [T, B], got ",
              log_rhos.sizes());
  TORCH_CHECK(discounts.sizes() == log_rhos.sizes() &&
                  rewards.sizes() == log_rhos.sizes() &&
                  values.sizes() == log_rhos.sizes(),
              "VTrace: discounts, rewards and values must match log_rhos ",
              log_rhos.sizes());
  TORCH_CHECK(
      bootstrap_value.dim() == 1 && bootstrap_value.size(0) == log_rhos.size(1),
      "VTrace: bootstrap_value must be [B], got ", bootstrap_value.sizes());
  c10::NoGradGuard no_grad;
  const int64_t steps = log_rhos.size(0);

  const at::Tensor rhos = log_rhos.exp();
  const at::Tensor clipped_rhos = rhos.clamp_max(rho_bar);
  // discount_t * c_t: the factor that carries vs_{t+1} - V(x_{t+1}) back.
  const at::Tensor discounted_cs = rhos.clamp_max(c_bar).mul_(discounts);
  const at::Tensor next_values =
      at::cat({values.slice(0, 1), bootstrap_value.unsqueeze(0)}, 0);

  // deltas becomes vs - V in place: the recursion adds the already finished
  // step t+1 into step t, so each step is one fused multiply-add kernel.
  at::Tensor vs_minus_values =
      (rewards + discounts * next_values - values).mul_(clipped_rhos);
  for (int64_t t = steps - 2; t >= 0; --t) {
    vs_minus_values[t].addcmul_(discounted_cs[t], vs_minus_values[t + 1]);
  }
  at::Tensor vs = vs_minus_values.add_(values);

  const at::Tensor next_vs =
      at::cat({vs.slice(0, 1), bootstrap_value.unsqueeze(0)}, 0);
  at::Tensor pg_advantages =
      (rewards + discounts * next_vs - values).mul_(clipped_rhos);
  return {std::move(vs), std::move(pg_advantages)};
}

}  // namespace lantern::core
