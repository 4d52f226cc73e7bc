// The APPO loss: a PPO-clipped policy loss on V-trace advantages, a V-trace
// value loss and an entropy bonus (as in Sample Factory's APPO).
#pragma once

#include <ATen/core/Tensor.h>

namespace lantern::core {

struct LossOptions {
  double gamma = 0.99;
  double rho_bar = 1.0;     // V-trace clip on the importance weights rho_t
  double c_bar = 1.0;       // V-trace clip on the trace coefficients c_t
  double clip_ratio = 0.1;  // PPO: the ratio is clipped to [1-eps, 1+eps]
  double value_coef = 0.5;
  double entropy_coef = 0.01;
  bool normalize_advantages = true;
};

// One unroll of T steps for B environments, time-major. All tensors on one
// device.
struct LossInputs {
  at::Tensor target_logits;     // [T, B, A] float, from the network (grad)
  at::Tensor values;            // [T, B] float, V(x_t) from the network (grad)
  at::Tensor bootstrap_value;   // [B] float, V(x_T): no gradient flows into it
  at::Tensor behaviour_logits;  // [T, B, A] float, what the actor sampled from
  at::Tensor actions;           // [T, B] int64, the actions taken at step t
  at::Tensor rewards;           // [T, B] float, reward of transition t
  // [T, B] bool, uint8 or float: 1 where the transition at step t ended the
  // episode. Then discount_t = gamma * (1 - done_t): nothing after step t is
  // bootstrapped into step t, and the V-trace recursion does not cross it.
  at::Tensor dones;
};

// The loss and its parts; every tensor is a 0-dim scalar.
//   total = policy + value_coef * value - entropy_coef * entropy
struct LossTerms {
  at::Tensor total;       // what to minimise (carries the gradient)
  at::Tensor policy;      // -mean_t,b min(ratio * adv, clip(ratio) * adv)
  at::Tensor value;       // 0.5 * mean_t,b (vs - V)^2, before value_coef
  at::Tensor entropy;     // mean_t,b entropy of the target policy (nats), >= 0
  at::Tensor mean_ratio;  // mean pi/mu of the taken actions (detached)
  at::Tensor clip_fraction;  // share of |ratio - 1| > clip_ratio (detached)
};

// Computes the APPO loss for one unroll:
//  - log_rhos = log pi(a|x) - log mu(a|x) from target and behaviour logits;
//  - V-trace (no gradient) on values, bootstrap_value, rewards and
//    discounts = gamma * (1 - dones) gives vs and pg_advantages;
//  - with normalize_advantages the advantages become
//    (adv - mean) / max(std, 1e-7) over all T*B entries (std unbiased, and
//    only when T*B > 1), as in Sample Factory;
//  - policy: PPO clip on ratio = pi(a|x) / mu(a|x), which carries the gradient
//    through log pi; the clip range is the symmetric [1 - clip_ratio,
//    1 + clip_ratio];
//  - value: 0.5 * mean (vs - V)^2, so its gradient is value_coef * (V - vs)
//    / (T*B) per entry; total weights it by value_coef;
//  - entropy: the mean entropy of softmax(target_logits); total subtracts
//    entropy_coef times it (a bonus).
// Shape or dtype mismatches throw c10::Error.
LossTerms AppoLoss(const LossInputs& inputs, const LossOptions& options);

}  // namespace lantern::core
