#include "reward_model/distiller.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>

#include "learner/core/grad_norm.h"

namespace lantern::reward_model {
namespace {}  // namespace

at::Tensor ClassificationLoss(const at::Tensor& logits,
                              const at::Tensor& labels) {
  return at::nll_loss(at::log_softmax(logits, 1), labels);
}

at::Tensor BradleyTerryLoss(const at::Tensor& reward_a,
                            const at::Tensor& reward_b,
                            const at::Tensor& target) {
  const at::Tensor log_p =
      at::log_softmax(at::stack({reward_a, reward_b}, 1), 1);
  return -(target * log_p.select(1, 0) + (1 - target) * log_p.select(1, 1))
              .mean();
}

int64_t TrainStepsForNewLabels(int64_t new_labels, int64_t total_labels,
                               const TrainSchedule& schedule) {
  if (new_labels <= 0) return 0;
  return total_labels < schedule.switch_labels ? schedule.steps_per_label_batch
                                               : schedule.steps_after_switch;
}

Distiller::Distiller(const DistillerOptions& options)
    : options_(options),
      model_(options.model),
      generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed)) {
  TORCH_CHECK(options.learning_rate > 0 && options.batch_size > 0 &&
                  options.score_batch_size > 0,
              "Distiller: learning_rate, batch_size and score_batch_size must "
              "be positive");
  model_->to(options_.device);
  optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->parameters(), torch::optim::AdamOptions(options_.learning_rate));
}

Distiller::~Distiller() = default;

void Distiller::AddExamples(std::span<const ClassificationExample> examples) {
  TORCH_CHECK(options_.model.kind == RewardModelKind::kClassification,
              "Distiller: classification examples for a ranking model");
  for (const auto& e : examples) {
    TORCH_CHECK(e.label == 0 || e.label == 1,
                "Distiller: labels must be 0 or 1, got ", e.label);
  }
  std::vector<std::string_view> captions;
  captions.reserve(examples.size());
  for (const auto& e : examples) {
    captions.push_back(e.caption);
    (e.label == 1 ? helpful_ : unhelpful_).push_back(num_examples());
    targets_.push_back(static_cast<float>(e.label));
  }
  const at::Tensor bytes =
      EncodeCaptions(captions, options_.model.caption_length);
  bytes_.insert(bytes_.end(), bytes.data_ptr<uint8_t>(),
                bytes.data_ptr<uint8_t>() + bytes.numel());
}

void Distiller::AddExamples(std::span<const PreferenceExample> examples) {
  TORCH_CHECK(options_.model.kind == RewardModelKind::kRanking,
              "Distiller: preference examples for a classification model");
  for (const auto& e : examples) {
    TORCH_CHECK(e.target >= 0 && e.target <= 1,  // false for NaN too
                "Distiller: targets must be in [0, 1], got ", e.target);
  }
  std::vector<std::string_view> captions;  // a0, b0, a1, b1, ...
  captions.reserve(2 * examples.size());
  for (const auto& e : examples) {
    captions.push_back(e.a);
    captions.push_back(e.b);
    targets_.push_back(e.target);
  }
  const at::Tensor bytes =
      EncodeCaptions(captions, options_.model.caption_length);
  bytes_.insert(bytes_.end(), bytes.data_ptr<uint8_t>(),
                bytes.data_ptr<uint8_t>() + bytes.numel());
}

int64_t Distiller::num_examples() const {
  return static_cast<int64_t>(targets_.size());
}

at::Tensor Distiller::SampleIndices() {
  if (options_.balance_classes && !helpful_.empty() && !unhelpful_.empty()) {
    const int64_t half = std::max<int64_t>(1, options_.batch_size / 2);
    const auto draw = [&](std::vector<int64_t>& from, int64_t k) {
      const at::Tensor pool = at::from_blob(
          from.data(), {static_cast<int64_t>(from.size())}, at::kLong);
      return pool.index_select(0, at::randint(static_cast<int64_t>(from.size()),
                                              {k}, generator_, at::kLong));
    };
    return at::cat(
        {draw(helpful_, half), draw(unhelpful_, options_.batch_size - half)});
  }
  const int64_t n = num_examples();
  if (n <= options_.batch_size) return at::arange(n, at::kLong);
  return at::randperm(n, generator_, at::kLong)
      .slice(0, 0, options_.batch_size);
}

TrainStats Distiller::Train(int64_t steps) {
  TrainStats stats;
  if (steps <= 0 || targets_.empty()) return stats;
  const bool ranking = options_.model.kind == RewardModelKind::kRanking;
  const int64_t length = options_.model.caption_length;
  const at::Device device = options_.device;
  // Views of the examples for index_select; nothing below writes to them.
  const at::Tensor all_bytes = at::from_blob(
      bytes_.data(), {static_cast<int64_t>(bytes_.size()) / length, length},
      at::kByte);
  const at::Tensor all_targets =
      at::from_blob(targets_.data(), {num_examples()}, at::kFloat);
  const std::vector<at::Tensor> params = model_->parameters();
  const double max_norm = ranking ? options_.ranking_max_grad_norm : 0.0;

  model_->train();
  // Sums stay on the device: one host copy at the end.
  at::Tensor sums =
      at::zeros({4}, at::TensorOptions(device).dtype(at::kDouble));
  for (int64_t step = 0; step < steps; ++step) {
    const at::Tensor index = SampleIndices();
    const at::Tensor target = all_targets.index_select(0, index).to(device);
    at::Tensor loss;
    at::Tensor correct;  // per example, counted only where `counted`
    at::Tensor counted;
    if (ranking) {
      // Rows a_i = 2i, b_i = 2i + 1: both sides in one forward pass.
      const at::Tensor rows = at::stack({index * 2, index * 2 + 1}, 1).view(-1);
      const at::Tensor rewards =
          model_->forward(all_bytes.index_select(0, rows)).view({-1, 2});
      const at::Tensor a = rewards.select(1, 0);
      const at::Tensor b = rewards.select(1, 1);
      loss = BradleyTerryLoss(a, b, target);
      counted = target.ne(0.5);
      correct =
          a.detach().gt(b.detach()).eq(target.gt(0.5)).logical_and(counted);
    } else {
      const at::Tensor labels = target.to(at::kLong);
      const at::Tensor logits =
          model_->forward(all_bytes.index_select(0, index));
      loss = ClassificationLoss(logits, labels);
      correct = logits.detach().argmax(1).eq(labels);
      counted = at::ones_like(correct);
    }
    optimizer_->zero_grad();
    loss.backward();
    const at::Tensor norm = core::ClipGradNorm(params, max_norm);
    optimizer_->step();
    ++num_steps_;
    sums += at::stack(
        {loss.detach().to(at::kDouble), correct.sum().to(at::kDouble),
         counted.sum().to(at::kDouble), norm.to(device, at::kDouble)});
  }
  const at::Tensor host = sums.to(at::kCPU);
  const double* v = host.data_ptr<double>();
  stats.steps = steps;
  stats.loss = v[0] / static_cast<double>(steps);
  stats.accuracy = v[2] > 0 ? v[1] / v[2] : 0.0;
  stats.grad_norm = v[3] / static_cast<double>(steps);
  return stats;
}

at::Tensor Distiller::ScoreUnique(const at::Tensor& bytes) {
  c10::NoGradGuard no_grad;
  model_->eval();
  const bool ranking = options_.model.kind == RewardModelKind::kRanking;
  std::vector<at::Tensor> scores;
  const int64_t n = bytes.size(0);
  for (int64_t start = 0; start < n; start += options_.score_batch_size) {
    const at::Tensor out = model_->forward(
        bytes.slice(0, start, start + options_.score_batch_size));
    scores.push_back(ranking ? out : at::softmax(out, 1).select(1, 1));
  }
  if (scores.empty()) {
    return at::empty({0}, at::TensorOptions(options_.device).dtype(at::kFloat));
  }
  return scores.size() == 1 ? scores[0] : at::cat(scores);
}

at::Tensor Distiller::Score(std::span<const std::string_view> captions) {
  // Rewards are scored per step, and most steps repeat a few captions
  // (often the empty one): score each distinct caption once.
  std::unordered_map<std::string_view, int64_t> slot;
  std::vector<std::string_view> unique;
  std::vector<int64_t> inverse;
  inverse.reserve(captions.size());
  for (const std::string_view caption : captions) {
    const auto [it, inserted] =
        slot.try_emplace(caption, static_cast<int64_t>(unique.size()));
    if (inserted) unique.push_back(caption);
    inverse.push_back(it->second);
  }
  const at::Tensor scores =
      ScoreUnique(EncodeCaptions(unique, options_.model.caption_length))
          .to(at::kCPU);
  const at::Tensor index = at::from_blob(
      inverse.data(), {static_cast<int64_t>(inverse.size())}, at::kLong);
  return scores.index_select(0, index);
}

at::Tensor Distiller::Score(std::span<const std::string> captions) {
  const std::vector<std::string_view> views(captions.begin(), captions.end());
  return Score(std::span<const std::string_view>(views));
}

at::Tensor Distiller::ScoreEncoded(const at::Tensor& bytes) {
  const at::Tensor fitted = FitCaptions(bytes, options_.model.caption_length);
  if (fitted.size(0) == 0) return ScoreUnique(fitted);
  const auto [unique, inverse, counts] =
      at::unique_dim(fitted, 0, /*sorted=*/false, /*return_inverse=*/true);
  return ScoreUnique(unique).index_select(0, inverse.to(options_.device));
}

}  // namespace lantern::reward_model
