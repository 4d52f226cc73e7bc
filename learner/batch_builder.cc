#include "learner/batch_builder.h"

#include <torch/torch.h>

namespace lantern::learner {
namespace {

// A CPU tensor viewing a proto tensor's bytes (valid while the proto lives).
torch::Tensor View(const v1::Tensor& t, torch::ScalarType type) {
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  return torch::from_blob(const_cast<char*>(t.data().data()), shape, type);
}

const v1::Tensor& Observation(const v1::Trajectory& t, const char* name) {
  for (const v1::NamedTensor& nt : t.observations()) {
    if (nt.name() == name) return nt.tensor();
  }
  return v1::Tensor::default_instance();  // unreachable after validation
}

// Concatenates one field of every trajectory along `dim` (the env axis).
template <class Get>
torch::Tensor Join(const std::vector<std::unique_ptr<v1::Trajectory>>& items,
                   Get get, torch::ScalarType type, int64_t dim) {
  std::vector<torch::Tensor> parts;
  parts.reserve(items.size());
  for (const auto& t : items) parts.push_back(View(get(*t), type));
  return torch::cat(parts, dim);  // copies: the result owns its memory
}

}  // namespace

core::Batch BuildBatch(
    const std::vector<std::unique_ptr<v1::Trajectory>>& items,
    const common::RewardConfig& reward, const at::Tensor& intrinsic,
    double* intrinsic_mean) {
  core::Batch b;
  b.chars = Join(
      items, [](auto& t) -> auto& { return Observation(t, "chars"); },
      torch::kUInt8, 1);
  b.stats = Join(
      items, [](auto& t) -> auto& { return Observation(t, "stats"); },
      torch::kFloat32, 1);
  b.message = Join(
      items, [](auto& t) -> auto& { return Observation(t, "message"); },
      torch::kUInt8, 1);
  b.actions =
      Join(
          items, [](auto& t) -> auto& { return t.actions(); }, torch::kInt32, 1)
          .to(torch::kInt64);
  b.behaviour_logits = Join(
      items, [](auto& t) -> auto& { return t.behaviour_logits(); },
      torch::kFloat32, 1);
  b.dones = Join(
      items, [](auto& t) -> auto& { return t.dones(); }, torch::kUInt8, 1);
  b.initial_state = Join(
      items, [](auto& t) -> auto& { return t.initial_state(); },
      torch::kFloat32, 0);
  const torch::Tensor extrinsic = Join(
      items, [](auto& t) -> auto& { return t.rewards(); }, torch::kFloat32, 1);
  const torch::Tensor counts = Join(
      items, [](auto& t) -> auto& { return t.caption_counts(); }, torch::kInt32,
      1);
  const torch::Tensor r_int =
      intrinsic.defined() ? intrinsic : torch::zeros_like(extrinsic);
  b.rewards = ShapeReward(extrinsic, r_int, counts, reward);
  if (intrinsic_mean != nullptr) {
    *intrinsic_mean =
        intrinsic.defined()
            ? IntrinsicTerm(r_int, counts, reward).mean().item<double>()
            : 0.0;
  }
  return b;
}

}  // namespace lantern::learner
