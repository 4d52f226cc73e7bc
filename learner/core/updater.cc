#include "learner/core/updater.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/version.h>

#include <istream>
#include <ostream>
#include <utility>
#include <vector>

#include "learner/core/autocast.h"
#include "learner/core/cuda_graph.h"
#include "learner/core/flat_adam.h"

namespace lantern::core {
namespace {

// Eager updates before the capture: lazy initialisation (cuBLAS and cuDNN
// workspaces, algorithm choice) must not happen inside it.
constexpr int kEagerUpdatesBeforeCapture = 3;

std::vector<at::Tensor> Fields(const Batch& b) {
  return {b.chars,   b.stats, b.message,      b.actions, b.behaviour_logits,
          b.rewards, b.dones, b.initial_state};
}

bool SameShapes(const Batch& a, const Batch& b) {
  const auto x = Fields(a);
  const auto y = Fields(b);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].defined() != y[i].defined()) return false;
    if (x[i].defined() && (x[i].sizes() != y[i].sizes() ||
                           x[i].scalar_type() != y[i].scalar_type())) {
      return false;
    }
  }
  return true;
}

// Checkpoints written before FlatAdam hold torch::optim::Adam's state
// ("optimizer"): its per-parameter moments, laid end to end in parameter
// order, are FlatAdam's. Only LibTorch 1.x keys that state in a way we can
// read here (the learners that wrote such checkpoints ran on Debian's 1.13).
std::vector<at::Tensor> LegacyAdamState(torch::serialize::InputArchive& archive,
                                        const std::vector<at::Tensor>& params) {
  torch::serialize::InputArchive legacy_archive;
  TORCH_CHECK(archive.try_read("optimizer", legacy_archive),
              "Updater: the archive has no optimizer state (adam_step, "
              "adam_exp_avg, adam_exp_avg_sq)");
#if TORCH_VERSION_MAJOR < 2
  torch::optim::Adam legacy(params, torch::optim::AdamOptions());
  legacy.load(legacy_archive);
  std::vector<at::Tensor> exp_avg;
  std::vector<at::Tensor> exp_avg_sq;
  int64_t step = 0;
  for (const auto& p : params) {
    auto it =
        legacy.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
    if (it == legacy.state().end()) {  // never stepped
      exp_avg.push_back(at::zeros({p.numel()}, p.options()));
      exp_avg_sq.push_back(at::zeros({p.numel()}, p.options()));
      continue;
    }
    const auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
    exp_avg.push_back(s.exp_avg().reshape({-1}));
    exp_avg_sq.push_back(s.exp_avg_sq().reshape({-1}));
    step = s.step();
  }
  return {at::full({1}, step, at::kLong), at::cat(exp_avg),
          at::cat(exp_avg_sq)};
#else
  (void)params;
  TORCH_CHECK(false,
              "Updater: this checkpoint holds torch::optim::Adam state from "
              "an older Lantern on LibTorch 1.x; resume it with a LibTorch "
              "1.x build (Debian's) once, or start a new run");
  return {};
#endif
}

}  // namespace

Updater::Updater(const ModelOptions& model_options,
                 const UpdateOptions& update_options, at::Device device)
    : device_(device), options_(update_options), model_(model_options) {
  TORCH_CHECK(!options_.bf16 || device_.is_cuda(),
              "Updater: bf16 autocast is for CUDA devices");
  model_->to(device_);
  AdamOptions adam;
  adam.learning_rate = options_.learning_rate;
  adam.eps = options_.adam_eps;
  adam_ = std::make_unique<FlatAdam>(model_->parameters(), adam);
  if (options_.cudnn_benchmark && device_.is_cuda()) {
    at::globalContext().setBenchmarkCuDNN(true);
  }
  if (options_.cuda_graph && device_.is_cuda()) {
    graph_ =
        std::make_unique<CudaGraph>(device_.index() < 0 ? 0 : device_.index());
  }
}

Updater::~Updater() = default;

at::Tensor Updater::Update(const Batch& batch) {
  const int64_t steps = batch.actions.size(0);
  const int64_t envs = batch.actions.size(1);
  const at::Tensor dones = batch.dones.to(device_);
  // Step t+1 starts a new episode where transition t ended one.
  const at::Tensor first =
      at::cat({at::zeros({1, envs}, dones.options()), dones}, 0);
  at::Tensor state = batch.initial_state;
  if (!state.defined()) state = model_->InitialState(envs);

  LossTerms terms;
  at::Tensor values;
  {
    CudaBf16Autocast autocast(options_.bf16);
    // Steps 0..T-1 with autograd. Step T only gives the bootstrap value,
    // which takes no gradient: it runs after them, from their final state,
    // without autograd, so the backward does not carry a step whose
    // gradients would all be zero (1/(T+1) of its work).
    const auto head = [&](const at::Tensor& t) { return t.slice(0, 0, steps); };
    const auto tail = [&](const at::Tensor& t) { return t.slice(0, steps); };
    PolicyOutput out = model_->forward(head(batch.chars), head(batch.stats),
                                       head(batch.message), head(first), state);
    at::Tensor bootstrap;
    {
      at::NoGradGuard no_grad;
      bootstrap = model_
                      ->forward(tail(batch.chars), tail(batch.stats),
                                tail(batch.message), tail(first), out.state)
                      .values[0];
    }
    // The loss in float32 whatever the network computed in.
    values = out.values.to(at::kFloat);
    LossInputs inputs;
    inputs.target_logits = out.logits.to(at::kFloat);
    inputs.values = values;
    inputs.bootstrap_value = bootstrap.to(at::kFloat);
    inputs.behaviour_logits = batch.behaviour_logits.to(device_);
    inputs.actions = batch.actions.to(device_);
    inputs.rewards = batch.rewards.to(device_);
    inputs.dones = dones;
    terms = AppoLoss(inputs, options_.loss);
  }

  adam_->ZeroGrad();
  terms.total.backward();
  const at::Tensor grad_norm = adam_->ClipGradNorm(options_.max_grad_norm);
  adam_->Step();

  const auto f = [](const at::Tensor& t) {
    return t.detach().to(at::kFloat).reshape({});
  };
  return at::stack({f(terms.total), f(terms.policy), f(terms.value),
                    f(terms.entropy), f(grad_norm), f(terms.mean_ratio),
                    f(terms.clip_fraction), f(values.mean())});
}

at::Tensor Updater::GraphStep(const Batch& batch) {
  if (!static_.actions.defined() || !SameShapes(static_, batch)) {
    static_ = Batch();
    const auto from = Fields(batch);
    std::vector<at::Tensor> to(from.size());
    for (size_t i = 0; i < from.size(); ++i) {
      if (from[i].defined()) to[i] = at::empty_like(from[i], device_);
    }
    static_ = Batch{to[0], to[1], to[2], to[3], to[4], to[5], to[6], to[7]};
    graph_->Reset();
    static_stats_ = at::Tensor();
    eager_updates_ = 0;
  }
  at::Tensor stats;
  graph_->Run([&] {
    const auto from = Fields(batch);
    const auto to = Fields(static_);
    for (size_t i = 0; i < from.size(); ++i) {
      if (from[i].defined()) to[i].copy_(from[i]);
    }
    if (eager_updates_ < kEagerUpdatesBeforeCapture) {
      stats = Update(static_);
    }
  });
  if (stats.defined()) {
    ++eager_updates_;
    return stats;
  }
  if (!graph_->captured()) {
    try {
      graph_->Capture([&] { static_stats_ = Update(static_); });
    } catch (const c10::Error& e) {
      // Some operation of this network cannot be captured (it syncs with
      // the host). Nothing of this update ran; the caller decides.
      TORCH_CHECK(false,
                  "Updater: capturing the update in a CUDA graph "
                  "failed (learner.cuda_graph: false runs it eagerly): ",
                  e.what_without_backtrace());
    }
  }
  graph_->Replay();
  return static_stats_;
}

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

  const at::Tensor device_stats = graph_ ? GraphStep(batch) : Update(batch);
  ++num_updates_;

  // One device-to-host copy for all statistics.
  const at::Tensor host = device_stats.to(at::kCPU, at::kDouble);
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

bool Updater::graph_captured() const { return graph_ && graph_->captured(); }

void Updater::Save(std::ostream& out) const {
  torch::serialize::OutputArchive model_archive;
  model_->save(model_archive);
  const std::vector<at::Tensor> adam = adam_->State();
  torch::serialize::OutputArchive archive;
  archive.write("model", model_archive);
  archive.write("adam_step", adam[0]);
  archive.write("adam_exp_avg", adam[1]);
  archive.write("adam_exp_avg_sq", adam[2]);
  archive.write("num_updates", at::scalar_tensor(num_updates_, at::kLong));
  archive.save_to(out);
}

void Updater::Load(std::istream& in) {
  torch::serialize::InputArchive archive;
  archive.load_from(in, device_);
  torch::serialize::InputArchive model_archive;
  archive.read("model", model_archive);
  model_->load(model_archive);
  // load() replaced the parameters' storage: view them flat again, and
  // capture anew (a graph holds the old addresses).
  adam_->Reflatten();
  if (graph_) {
    graph_->Reset();
    static_ = Batch();
  }
  std::vector<at::Tensor> adam(3);
  if (!(archive.try_read("adam_step", adam[0]) &&
        archive.try_read("adam_exp_avg", adam[1]) &&
        archive.try_read("adam_exp_avg_sq", adam[2]))) {
    adam = LegacyAdamState(archive, model_->parameters());
  }
  adam_->SetState(adam);
  at::Tensor num_updates;
  archive.read("num_updates", num_updates);
  num_updates_ = num_updates.item<int64_t>();
}

}  // namespace lantern::core
