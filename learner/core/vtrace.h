// V-trace off-policy value targets (Espeholt et al. 2018, "IMPALA").
#pragma once

#include <ATen/core/Tensor.h>

namespace lantern::core {

// V-trace targets for one batch of unrolls. Time is the leading dimension.
struct VTraceOutput {
  at::Tensor vs;             // [T, B] value targets v_s
  at::Tensor pg_advantages;  // [T, B] policy-gradient advantages
};

// Computes V-trace targets without recording gradients (the outputs never
// require grad, whatever the inputs). All tensors must be on one device and
// of one floating dtype; the outputs share both.
//
//   log_rhos        [T, B]  log pi(a_t|x_t) - log mu(a_t|x_t) (target minus
//                           behaviour log-probability of the taken action)
//   discounts       [T, B]  gamma * (1 - done_t), where done_t = 1 when the
//                           transition at step t ended the episode
//   rewards         [T, B]  r_t
//   values          [T, B]  V(x_t) under the target network
//   bootstrap_value [B]     V(x_T), the state after the last step
//
// With rho_t = min(rho_bar, exp(log_rhos_t)), c_t = min(c_bar,
// exp(log_rhos_t)) and delta_t = rho_t (r_t + discount_t V(x_{t+1}) - V(x_t)):
//   vs_t = V(x_t) + delta_t + discount_t c_t (vs_{t+1} - V(x_{t+1}))
//   pg_advantages_t = rho_t (r_t + discount_t vs_{t+1} - V(x_t))
// with vs_T = V(x_T) = bootstrap_value. The recursion runs backwards over T
// (T small kernels, each in place); shape mismatches throw c10::Error.
VTraceOutput VTrace(const at::Tensor& log_rhos, const at::Tensor& discounts,
                    const at::Tensor& rewards, const at::Tensor& values,
                    const at::Tensor& bootstrap_value, double rho_bar = 1.0,
                    double c_bar = 1.0);

}  // namespace lantern::core
