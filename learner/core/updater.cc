#include "learner/core/updater.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>

#include <istream>
#include <ostream>
#include <utility>
#include <vector>

#include "learner/core/grad_norm.h"

namespace lantern::core {

Updater::Updater(const ModelOptions& model_options,
                 const UpdateOptions& update_options, at::Device device)
    : device_(device), options_(update_options), model_(model_options) {
  model_->to(device_);
  optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->parameters(),
      torch::optim::AdamOptions(options_.learning_rate).eps(options_.adam_eps));
}

Updater::~Updater() = default;

UpdateStats Updater::Step(const Batch& batch) {
  TORCH_CHECK(batch.actions.dim() == 2, "Updater: actions must be [T, B]");
  const int64_t steps = batch.actions.size(0);
  const int64_t envs = batch.actions.size(1);
  TORCH_CHECK(batch.chars.dim() >= 2 && batch.chars.size(0) == steps + 1 &&
                  batch.chars.size(1) == envs,
              "Updater: chars must be [T+1, B, ...] = [", steps + 1, ", ", envs,
              ", ...], got ", batch.chars.sizes());
  TORCH_CHECK(batch.dones.sizes() == batch.actions.sizes(),
              "Updater: dones must be [T, B]");

  const at::Tensor dones = batch.dones.to(device_);
  // Step t+1 starts a new episode where transition t ended one.
  const at::Tensor first =
      at::cat({at::zeros({1, envs}, dones.options()), dones}, 0);
  at::Tensor state = batch.initial_state;
  if (!state.defined()) state = model_->InitialState(envs);

  PolicyOutput out =
      model_->forward(batch.chars, batch.stats, batch.message, first, state);
  const at::Tensor values = out.values.slice(0, 0, steps);
  LossInputs inputs;
  inputs.target_logits = out.logits.slice(0, 0, steps);
  inputs.values = values;
  inputs.bootstrap_value = out.values[steps].detach();
  inputs.behaviour_logits = batch.behaviour_logits.to(device_);
  inputs.actions = batch.actions.to(device_);
  inputs.rewards = batch.rewards.to(device_);
  inputs.dones = dones;
  const LossTerms terms = AppoLoss(inputs, options_.loss);

  optimizer_->zero_grad();
  terms.total.backward();
  const at::Tensor grad_norm =
      ClipGradNorm(model_->parameters(), options_.max_grad_norm);
  optimizer_->step();
  ++num_updates_;

  // One device-to-host copy for all statistics.
  const at::Tensor host =
      at::stack({terms.total.detach(), terms.policy.detach(),
                 terms.value.detach(), terms.entropy.detach(),
                 grad_norm.to(terms.total.device(), terms.total.scalar_type()),
                 terms.mean_ratio, terms.clip_fraction, values.detach().mean()})
          .to(at::kCPU, at::kDouble);
  const double* v = host.data_ptr<double>();
  UpdateStats stats;
  stats.total_loss = v[0];
  stats.policy_loss = v[1];
  stats.value_loss = v[2];
  stats.entropy = v[3];
  stats.grad_norm = v[4];
  stats.mean_ratio = v[5];
  stats.clip_fraction = v[6];
  stats.mean_value = v[7];
  stats.samples = steps * envs;
  return stats;
}

void Updater::Save(std::ostream& out) const {
  torch::serialize::OutputArchive model_archive;
  model_->save(model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer_->save(optimizer_archive);
  torch::serialize::OutputArchive archive;
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("num_updates", at::scalar_tensor(num_updates_, at::kLong));
  archive.save_to(out);
}

void Updater::Load(std::istream& in) {
  torch::serialize::InputArchive archive;
  archive.load_from(in, device_);
  torch::serialize::InputArchive model_archive;
  archive.read("model", model_archive);
  model_->load(model_archive);
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer_->load(optimizer_archive);
  at::Tensor num_updates;
  archive.read("num_updates", num_updates);
  num_updates_ = num_updates.item<int64_t>();
}

}  // namespace lantern::core
