#include "learner/core/appo_loss.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <utility>

#include "learner/core/vtrace.h"

namespace lantern::core {
namespace {

// log pi(a_t | x_t) of the taken actions: [T, B, A] log-probs -> [T, B].
at::Tensor TakenLogProbs(const at::Tensor& log_probs,
                         const at::Tensor& actions) {
  return log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1);
}

}  // namespace

LossTerms AppoLoss(const LossInputs& in, const LossOptions& options) {
  TORCH_CHECK(in.target_logits.dim() == 3,
              "AppoLoss: target_logits must be [T, B, A], got ",
              in.target_logits.sizes());
  TORCH_CHECK(in.behaviour_logits.sizes() == in.target_logits.sizes(),
              "AppoLoss: behaviour_logits ", in.behaviour_logits.sizes(),
              " must match target_logits ", in.target_logits.sizes());
  TORCH_CHECK(in.actions.scalar_type() == at::kLong,
              "AppoLoss: actions must be int64");
  const auto time_batch = in.target_logits.sizes().slice(0, 2);
  TORCH_CHECK(
      in.values.sizes() == time_batch && in.actions.sizes() == time_batch &&
          in.rewards.sizes() == time_batch && in.dones.sizes() == time_batch,
      "AppoLoss: values, actions, rewards and dones must be ", time_batch);

  const at::Tensor log_probs = at::log_softmax(in.target_logits, -1);
  const at::Tensor log_pi = TakenLogProbs(log_probs, in.actions);

  at::Tensor log_mu;
  at::Tensor pg_advantages;
  at::Tensor vs;
  {
    c10::NoGradGuard no_grad;
    log_mu =
        TakenLogProbs(at::log_softmax(in.behaviour_logits, -1), in.actions);
    const at::Tensor log_rhos = log_pi - log_mu;
    const at::Tensor discounts =
        (1.0 - in.dones.to(in.values.scalar_type())).mul_(options.gamma);
    VTraceOutput vtrace =
        VTrace(log_rhos, discounts, in.rewards, in.values, in.bootstrap_value,
               options.rho_bar, options.c_bar);
    vs = std::move(vtrace.vs);
    pg_advantages = std::move(vtrace.pg_advantages);
    // One entry has no spread to normalise by (its std is NaN).
    if (options.normalize_advantages && pg_advantages.numel() > 1) {
      // clamp_min keeps this on the device: no host sync for max(std, eps).
      pg_advantages = (pg_advantages - pg_advantages.mean())
                          .div_(pg_advantages.std().clamp_min(1e-7));
    }
  }

  // pi/mu; the gradient flows through log_pi (log_mu is a constant).
  const at::Tensor ratio = (log_pi - log_mu).exp();
  const at::Tensor clipped_ratio =
      ratio.clamp(1.0 - options.clip_ratio, 1.0 + options.clip_ratio);
  const at::Tensor policy_loss =
      -at::min(ratio * pg_advantages, clipped_ratio * pg_advantages).mean();

  const at::Tensor value_loss = 0.5 * (vs - in.values).pow(2).mean();
  const at::Tensor entropy = -(log_probs.exp() * log_probs).sum(-1).mean();

  LossTerms terms;
  terms.total = policy_loss + options.value_coef * value_loss -
                options.entropy_coef * entropy;
  terms.policy = policy_loss;
  terms.value = value_loss;
  terms.entropy = entropy;
  {
    c10::NoGradGuard no_grad;
    terms.mean_ratio = ratio.mean();
    terms.clip_fraction = (ratio - 1.0)
                              .abs()
                              .gt(options.clip_ratio)
                              .to(ratio.scalar_type())
                              .mean();
  }
  return terms;
}

}  // namespace lantern::core
