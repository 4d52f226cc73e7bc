#include "learner/core/flat_adam.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <utility>

#include "learner/core/grad_norm.h"

namespace lantern::core {

FlatAdam::FlatAdam(std::vector<at::Tensor> params, const AdamOptions& options)
    : params_(std::move(params)), options_(options) {
  TORCH_CHECK(!params_.empty(), "FlatAdam: no parameters");
  for (const auto& p : params_) {
    TORCH_CHECK(
        p.scalar_type() == at::kFloat && p.device() == params_[0].device(),
        "FlatAdam: parameters must be float32 on one device");
  }
  Reflatten();
  exp_avg_ = at::zeros_like(values_);
  exp_avg_sq_ = at::zeros_like(values_);
  step_ = at::zeros({1}, values_.options().dtype(at::kLong));
}

void FlatAdam::Reflatten() {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> flat;
  flat.reserve(params_.size());
  for (const auto& p : params_) flat.push_back(p.detach().reshape({-1}));
  values_ = at::cat(flat);
  if (!grads_.defined()) grads_ = at::zeros_like(values_);
  int64_t offset = 0;
  for (auto& p : params_) {
    const int64_t n = p.numel();
    p.set_data(values_.narrow(0, offset, n).view(p.sizes()));
    p.mutable_grad() = grads_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
}

void FlatAdam::ZeroGrad() { grads_.zero_(); }

at::Tensor FlatAdam::ClipGradNorm(double max_norm) {
  return ClipGradients({grads_}, max_norm);
}

void FlatAdam::Step() {
  c10::NoGradGuard no_grad;
  const double b1 = options_.beta1;
  const double b2 = options_.beta2;
  step_.add_(1);
  exp_avg_.mul_(b1).add_(grads_, 1 - b1);
  exp_avg_sq_.mul_(b2).addcmul_(grads_, grads_, 1 - b2);
  // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), with the
  // bias corrections computed on the device from the step count (int64:
  // exact however long the run; pow of a float base gives float32).
  const at::Tensor correction1 = at::pow(b1, step_).neg_().add_(1);
  const at::Tensor correction2 = at::pow(b2, step_).neg_().add_(1);
  const at::Tensor step_size =
      correction1.reciprocal().mul_(options_.learning_rate);
  const at::Tensor denom = exp_avg_sq_.sqrt()
                               .div_(correction2.sqrt_())
                               .add_(options_.eps)
                               .div_(step_size);
  values_.addcdiv_(exp_avg_, denom, -1);
}

std::vector<at::Tensor> FlatAdam::State() const {
  return {step_, exp_avg_, exp_avg_sq_};
}

void FlatAdam::SetState(const std::vector<at::Tensor>& state) {
  TORCH_CHECK(state.size() == 3 && state[0].numel() == 1 &&
                  state[1].numel() == values_.numel() &&
                  state[2].numel() == values_.numel(),
              "FlatAdam: the optimizer state does not fit this network (",
              values_.numel(), " parameters)");
  c10::NoGradGuard no_grad;
  step_.copy_(state[0].reshape({1}));
  exp_avg_.copy_(state[1].reshape({-1}));
  exp_avg_sq_.copy_(state[2].reshape({-1}));
}

}  // namespace lantern::core
