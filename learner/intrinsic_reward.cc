#include "learner/intrinsic_reward.h"

#include <torch/torch.h>

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "common/string_hash.h"
#include "learner/trajectory_spec.h"
#include "learner/weights.h"
#include "reward_model/caption_cnn.h"

namespace lantern::learner {
namespace {

constexpr size_t kScoreBatch = 1024;
constexpr size_t kMaxCached = 1 << 20;  // distinct captions per version

}  // namespace

struct IntrinsicReward::Model {
  std::string kind;
  int64_t version = -1;
  int64_t caption_length = 0;
  std::shared_ptr<const v1::RewardModel> source;  // as received
  reward_model::CaptionCnn net{nullptr};          // classification, ranking
  std::mutex mu;  // scores: the training thread adds, Install reads
  // The cache, or the table; looked up by string_view without a copy.
  std::unordered_map<std::string, float, common::StringHash, std::equal_to<>>
      scores;

  // Scores `captions` with the net and caches the scores. Requires mu
  // unless the model is not installed yet.
  void Score(const std::vector<std::string_view>& captions) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < captions.size(); i += kScoreBatch) {
      const size_t n = std::min(kScoreBatch, captions.size() - i);
      std::span<const std::string_view> part(captions.data() + i, n);
      at::Tensor out =
          net->forward(reward_model::EncodeCaptions(part, caption_length));
      at::Tensor s =
          kind == "classification" ? torch::softmax(out, 1).select(1, 1) : out;
      s = s.to(torch::kCPU, torch::kFloat32).contiguous();
      const float* sp = s.data_ptr<float>();
      for (size_t k = 0; k < n; ++k) scores[std::string(part[k])] = sp[k];
    }
  }
};

std::vector<std::string_view> BatchCaptions(
    const std::vector<std::unique_ptr<v1::Trajectory>>& items) {
  if (items.empty()) return {};
  const int64_t T = items.front()->actions().shape(0);
  int64_t B = 0;
  for (const auto& t : items) B += t->env_ids_size();
  std::vector<std::string_view> out(size_t(T * B));
  int64_t column = 0;
  for (const auto& t : items) {
    const int64_t n = t->env_ids_size();
    for (int64_t s = 0; s < T; ++s) {
      for (int64_t e = 0; e < n; ++e) {
        out[size_t(s * B + column + e)] = CaptionAt(*t, s * n + e);
      }
    }
    column += n;
  }
  return out;
}

IntrinsicReward::IntrinsicReward(const common::RewardConfig& config,
                                 bool background)
    : config_(config) {
  if (background) {
    installer_ = std::jthread([this](std::stop_token s) { InstallLoop(s); });
  }
}

IntrinsicReward::~IntrinsicReward() = default;

void IntrinsicReward::InstallLoop(std::stop_token stop) {
  while (true) {
    std::shared_ptr<Model> next;
    {
      std::unique_lock lock(mu_);
      install_cv_.wait(lock, stop, [&] { return next_ != nullptr; });
      if (stop.stop_requested()) return;
      next = std::move(next_);
    }
    Install(std::move(next));
  }
}

void IntrinsicReward::Install(std::shared_ptr<Model> next) {
  if (next->kind != "retrieval") {
    std::shared_ptr<Model> current;
    {
      std::lock_guard lock(mu_);
      current = model_;
    }
    std::vector<std::string> known;
    if (current != nullptr) {
      std::lock_guard lock(current->mu);
      known.reserve(std::min(current->scores.size(), kPrescoreLimit));
      for (const auto& [caption, score] : current->scores) {
        if (known.size() == kPrescoreLimit) break;
        known.push_back(caption);
      }
    }
    next->Score(std::vector<std::string_view>(known.begin(), known.end()));
  }
  // Versions arrive, and are installed, in the order the server sent them.
  std::lock_guard lock(mu_);
  model_ = std::move(next);
}

absl::Status IntrinsicReward::SetModel(const v1::RewardModel& model,
                                       bool keep_newer) {
  if (model.kind() != config_.model_kind) {
    return absl::InvalidArgumentError(
        absl::StrCat("reward model v", model.version(), " is ", model.kind(),
                     "; this run uses ", config_.model_kind));
  }
  auto m = std::make_shared<Model>();
  m->kind = model.kind();
  m->version = model.version();
  m->caption_length = model.caption_length();
  m->source = std::make_shared<v1::RewardModel>(model);
  if (m->kind == "retrieval") {
    if (size_t(model.captions_size()) != model.labels().size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reward model v", model.version(), ": ", model.captions_size(),
          " captions but ", model.labels().size(), " labels"));
    }
    for (int i = 0; i < model.captions_size(); ++i) {
      m->scores[model.captions(i)] = float(model.labels()[size_t(i)] != 0);
    }
  } else {
    reward_model::CaptionCnnOptions options;
    options.kind = m->kind == "ranking"
                       ? reward_model::RewardModelKind::kRanking
                       : reward_model::RewardModelKind::kClassification;
    options.caption_length = m->caption_length;
    try {
      m->net = reward_model::CaptionCnn(options);
    } catch (const c10::Error& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reward model v", model.version(), ": ", e.what_without_backtrace()));
    }
    absl::Status st =
        ImportWeights(model.tensors(), *m->net,
                      absl::StrCat("reward model v", model.version()));
    if (!st.ok()) return st;
    m->net->eval();
  }
  {
    std::lock_guard lock(mu_);
    if (keep_newer && newest_version_ >= m->version) {
      return absl::OkStatus();  // the server's is as new or newer
    }
    newest_version_ = std::max(newest_version_, m->version);
    if (installer_.joinable()) next_ = std::move(m);  // replaces a waiting one
  }
  if (!installer_.joinable()) {
    Install(std::move(m));
    return absl::OkStatus();
  }
  install_cv_.notify_one();
  return absl::OkStatus();
}

int64_t IntrinsicReward::version() const {
  std::lock_guard lock(mu_);
  return model_ ? model_->version : -1;
}

std::shared_ptr<const v1::RewardModel> IntrinsicReward::installed() const {
  std::lock_guard lock(mu_);
  return model_ ? model_->source : nullptr;
}

IntrinsicReward::Result IntrinsicReward::Compute(
    const std::vector<std::string_view>& captions, int64_t T, int64_t B) {
  Result result{.r_int = torch::zeros({T, B}, torch::kFloat32)};
  std::shared_ptr<Model> m;
  {
    std::lock_guard lock(mu_);
    m = model_;
  }
  if (m == nullptr) return result;
  result.version = m->version;
  float* out = result.r_int.data_ptr<float>();

  std::lock_guard model_lock(m->mu);
  // One lookup per step; each caption this version has not scored yet is
  // scored once, in batches.
  std::vector<const float*> score(captions.size(), nullptr);
  std::vector<std::string_view> todo;
  if (m->kind != "retrieval" && m->scores.size() > kMaxCached) {
    m->scores.clear();
  }
  for (size_t i = 0; i < captions.size(); ++i) {
    if (captions[i].empty()) continue;
    auto it = m->scores.find(captions[i]);
    if (it != m->scores.end()) {
      score[i] = &it->second;
    } else if (m->kind != "retrieval") {
      todo.push_back(captions[i]);
    }
  }
  if (!todo.empty()) {
    std::sort(todo.begin(), todo.end());
    todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
    m->Score(todo);
    for (size_t i = 0; i < captions.size(); ++i) {
      if (score[i] == nullptr && !captions[i].empty()) {
        auto it = m->scores.find(captions[i]);
        if (it != m->scores.end()) score[i] = &it->second;
      }
    }
  }

  std::vector<int64_t> steps;  // steps with a caption (ranking)
  std::vector<float> raw;
  for (size_t i = 0; i < captions.size(); ++i) {
    if (score[i] == nullptr) continue;  // empty, or retrieval: unlabelled
    if (m->kind == "retrieval") {
      out[i] = *score[i];
    } else if (m->kind == "classification") {
      out[i] = *score[i] > config_.classification_threshold ? 1.0f : 0.0f;
    } else {
      steps.push_back(int64_t(i));
      raw.push_back(*score[i]);
    }
  }
  if (!raw.empty()) {
    const at::Tensor values =
        torch::from_blob(raw.data(), {int64_t(raw.size())}, torch::kFloat32);
    reward_model::NormalizedRewards n = reward_model::NormalizeRankingRewards(
        values, ranking_stats_, config_.ranking_quantile);
    ranking_stats_ = n.stats;
    const at::Tensor r = n.rewards.contiguous();
    const float* rp = r.data_ptr<float>();
    for (size_t k = 0; k < steps.size(); ++k) out[steps[k]] = rp[k];
  }
  return result;
}

}  // namespace lantern::learner
