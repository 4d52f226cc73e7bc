#include "reward_server/model_trainer.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "learner/weights.h"
#include "reward_model/distiller.h"

namespace lantern::reward {
namespace {

constexpr int64_t kStepsPerLock = 4;  // Score waits at most this many steps

reward_model::DistillerOptions DistillerOptionsFor(
    const common::Config& config) {
  reward_model::DistillerOptions o;
  o.model.kind = config.reward.model_kind == "ranking"
                     ? reward_model::RewardModelKind::kRanking
                     : reward_model::RewardModelKind::kClassification;
  o.model.caption_length = config.reward.caption_length;
  o.model.seed = uint64_t(config.run.seed);
  o.learning_rate = config.reward.train_learning_rate;
  o.batch_size = config.reward.train_batch_size;
  o.balance_classes = config.reward.balance_classes;
  o.seed = uint64_t(config.run.seed) + 1;
  return o;
}

}  // namespace

ModelTrainer::ModelTrainer(const common::Config& config,
                           common::VersionPublisher* publisher,
                           std::string model_path,
                           std::shared_ptr<spdlog::logger> log)
    : config_(config),
      kind_(config.reward.model_kind),
      publisher_(publisher),
      model_path_(std::move(model_path)),
      log_(std::move(log)) {
  if (kind_ != "retrieval") {
    distiller_ =
        std::make_unique<reward_model::Distiller>(DistillerOptionsFor(config));
  }
}

ModelTrainer::~ModelTrainer() { Stop(); }

size_t ModelTrainer::Absorb(const std::vector<LabelRecord>& labels) {
  std::vector<reward_model::ClassificationExample> singles;
  std::vector<reward_model::PreferenceExample> pairs;
  for (const LabelRecord& r : labels) {
    const Label label = r.annotation.label;
    if (!r.query.is_pair() &&
        (label == Label::kHelpful || label == Label::kUnhelpful)) {
      if (kind_ == "retrieval") {
        table_captions_.push_back(r.query.first);
        table_labels_.push_back(label == Label::kHelpful ? 1 : 0);
      } else {
        singles.push_back({.caption = r.query.first,
                           .label = label == Label::kHelpful ? 1 : 0});
      }
    } else if (r.query.is_pair() && label != Label::kUnknown) {
      pairs.push_back({.a = r.query.first,
                       .b = *r.query.second,
                       .target = label == Label::kFirst    ? 1.0f
                                 : label == Label::kSecond ? 0.0f
                                                           : 0.5f});
    }
  }
  size_t used = 0;
  if (kind_ == "retrieval") {
    used = table_captions_.size() - size_t(labels_used_);
  } else if (kind_ == "classification") {
    distiller_->AddExamples(singles);
    used = singles.size();
  } else {
    distiller_->AddExamples(pairs);
    used = pairs.size();
  }
  labels_used_ += int64_t(used);
  if (used > 0) dirty_ = true;
  return used;
}

absl::Status ModelTrainer::Restore(const std::vector<LabelRecord>& labels) {
  std::unique_lock lock(model_mu_);
  Absorb(labels);
  absl::StatusOr<std::string> saved = common::ReadFile(model_path_);
  bool loaded = false;
  int64_t saved_labels = 0;
  if (saved.ok()) {
    v1::RewardModel model;
    if (!model.ParseFromString(*saved)) {
      log_->warn("{} does not parse; training a new reward model", model_path_);
    } else if (model.kind() != kind_) {
      log_->warn("{} holds a {} model, this run uses {}; starting afresh",
                 model_path_, model.kind(), kind_);
    } else if (distiller_ != nullptr) {
      absl::Status st = learner::ImportWeights(
          model.tensors(), distiller_->module(), "reward model");
      if (st.ok()) {
        version_ = model.version();
        saved_labels = model.labels_used();
        loaded = true;
      } else {
        log_->warn("{}: {}; training a new reward model", model_path_,
                   st.ToString());
      }
    } else {
      version_ = model.version();  // the table is rebuilt from the labels
      saved_labels = model.labels_used();
      loaded = true;
    }
  }
  // Labels the saved model has not seen (all of them without one) count as
  // one arriving burst.
  const int64_t unseen = labels_used_ - (loaded ? saved_labels : 0);
  if (loaded) {
    log_->info("continuing reward model v{} from {} ({} labels, {} new)",
               version_.load(), model_path_, labels_used_, unseen);
  }
  if (distiller_ != nullptr && unseen > 0) {
    const int64_t steps = reward_model::TrainStepsForNewLabels(
        unseen, labels_used_,
        {.steps_per_label_batch = config_.reward.steps_per_label_batch,
         .switch_labels = config_.reward.schedule_switch_labels});
    lock.unlock();
    TrainSteps(steps, std::stop_token());
    lock.lock();
  }
  const bool publish = labels_used_ > 0;
  lock.unlock();
  if (publish) Publish();
  return absl::OkStatus();
}

void ModelTrainer::AddLabels(const std::vector<LabelRecord>& labels) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.insert(inbox_.end(), labels.begin(), labels.end());
  }
  inbox_cv_.notify_one();
}

void ModelTrainer::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void ModelTrainer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void ModelTrainer::TrainSteps(int64_t steps, std::stop_token stop) {
  for (int64_t done = 0; done < steps && !stop.stop_requested();) {
    const int64_t n = std::min(kStepsPerLock, steps - done);
    std::lock_guard lock(model_mu_);
    distiller_->Train(n);
    steps_ += n;
    done += n;
    dirty_ = true;
  }
}

void ModelTrainer::Loop(std::stop_token stop) {
  const auto interval = std::chrono::milliseconds(
      int64_t(config_.reward.publish_interval_s * 1000));
  auto last_publish = std::chrono::steady_clock::now();
  while (true) {
    std::vector<LabelRecord> fresh;
    {
      std::unique_lock lock(inbox_mu_);
      inbox_cv_.wait_for(lock, stop, interval, [&] { return !inbox_.empty(); });
      fresh.swap(inbox_);
    }
    int64_t steps = 0;
    if (!fresh.empty()) {
      std::lock_guard lock(model_mu_);
      const size_t used = Absorb(fresh);
      if (distiller_ != nullptr) {
        steps = reward_model::TrainStepsForNewLabels(
            int64_t(used), distiller_->num_examples(),
            {.steps_per_label_batch = config_.reward.steps_per_label_batch,
             .switch_labels = config_.reward.schedule_switch_labels});
      }
    }
    if (steps > 0) TrainSteps(steps, stop);
    const bool stopping = stop.stop_requested();
    if (stopping ||
        std::chrono::steady_clock::now() - last_publish >= interval) {
      bool dirty;
      {
        std::lock_guard lock(model_mu_);
        dirty = dirty_;
      }
      if (dirty) Publish();
      last_publish = std::chrono::steady_clock::now();
    }
    if (stopping) return;
  }
}

void ModelTrainer::Publish() {
  auto model = std::make_shared<v1::RewardModel>();
  {
    std::lock_guard lock(model_mu_);
    model->set_kind(kind_);
    model->set_version(++version_);
    model->set_labels_used(labels_used_);
    model->set_caption_length(int32_t(config_.reward.caption_length));
    if (distiller_ != nullptr) {
      learner::ExportWeights(distiller_->module(), model->mutable_tensors());
    } else {
      for (const std::string& c : table_captions_) model->add_captions(c);
      model->set_labels(table_labels_);
    }
    dirty_ = false;
  }
  publisher_->Publish(model->version(), *model);
  if (absl::Status st =
          common::WriteFileAtomic(model_path_, model->SerializeAsString());
      !st.ok()) {
    log_->error("saving the reward model: {}", st.ToString());
  }
}

v1::ScoreCaptionsResponse ModelTrainer::Score(
    const std::vector<std::string>& captions) {
  v1::ScoreCaptionsResponse response;
  std::lock_guard lock(model_mu_);
  const int64_t version = version_.load();
  response.set_version(version > 0 ? version : -1);
  if (version == 0) {  // no model yet: r_int = 0, as in the learner
    for (size_t i = 0; i < captions.size(); ++i) response.add_r_int(0);
    return response;
  }
  if (distiller_ == nullptr) {
    std::unordered_map<std::string_view, char> table;
    for (size_t i = 0; i < table_captions_.size(); ++i) {
      table[table_captions_[i]] = table_labels_[i];
    }
    for (const std::string& c : captions) {
      auto it = table.find(c);
      response.add_r_int(it == table.end() ? 0.0f : float(it->second));
    }
    return response;
  }
  const at::Tensor scores = distiller_->Score(captions);
  const float* s = scores.data_ptr<float>();
  for (size_t i = 0; i < captions.size(); ++i) {
    response.add_r_int(
        kind_ == "classification"
            ? (s[i] > config_.reward.classification_threshold ? 1.0f : 0.0f)
            : s[i]);
  }
  return response;
}

}  // namespace lantern::reward
