#include "reward_server/model_annotator.h"

#include <torch/torch.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/files.h"
#include "lantern/v1/reward.pb.h"
#include "learner/weights.h"
#include "reward_model/distiller.h"

namespace lantern::reward {

ModelAnnotator::~ModelAnnotator() = default;

absl::StatusOr<std::unique_ptr<ModelAnnotator>> ModelAnnotator::Create(
    const common::AnnotatorConfig& config) {
  if (config.teacher.empty()) {
    return absl::InvalidArgumentError(
        "annotator.teacher: the model annotator needs a reward-model file");
  }
  absl::StatusOr<std::string> bytes = common::ReadFile(config.teacher);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("annotator.teacher: ", bytes.status().message()));
  }
  v1::RewardModel model;
  if (!model.ParseFromString(*bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "annotator.teacher: ", config.teacher, " is not a reward-model file"));
  }
  std::unique_ptr<ModelAnnotator> a(new ModelAnnotator());
  a->model_kind_ = model.kind();
  a->name_ = absl::StrCat(model.kind(), "-v", model.version());
  if (model.kind() == "retrieval") {
    if (size_t(model.captions_size()) != model.labels().size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "annotator.teacher: ", config.teacher, ": ", model.captions_size(),
          " captions but ", model.labels().size(), " labels"));
    }
    for (int i = 0; i < model.captions_size(); ++i) {
      a->table_[model.captions(i)] = model.labels()[size_t(i)] != 0;
    }
    return a;
  }
  if (model.kind() != "classification" && model.kind() != "ranking") {
    return absl::InvalidArgumentError(
        absl::StrCat("annotator.teacher: ", config.teacher,
                     ": unknown model kind '", model.kind(), "'"));
  }
  reward_model::DistillerOptions options;
  options.model.kind = model.kind() == "ranking"
                           ? reward_model::RewardModelKind::kRanking
                           : reward_model::RewardModelKind::kClassification;
  options.model.caption_length = model.caption_length();
  try {
    a->distiller_ = std::make_unique<reward_model::Distiller>(options);
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("annotator.teacher: ", config.teacher, ": ",
                     e.what_without_backtrace()));
  }
  absl::Status st = learner::ImportWeights(
      model.tensors(), a->distiller_->module(),
      absl::StrCat("annotator.teacher ", config.teacher));
  if (!st.ok()) return st;
  return a;
}

absl::StatusOr<Annotation> ModelAnnotator::Annotate(const Query& query,
                                                    std::stop_token) {
  counters_.attempts.fetch_add(1);
  Annotation a{.model = name_};
  if (distiller_ == nullptr) {
    auto label = [&](const std::string& c) -> std::optional<bool> {
      auto it = table_.find(c);
      if (it == table_.end()) return std::nullopt;
      return it->second;
    };
    const std::optional<bool> first = label(query.first);
    const std::optional<bool> second =
        query.is_pair() ? label(*query.second) : std::nullopt;
    if (!first || (query.is_pair() && !second)) {
      counters_.unknown_answers.fetch_add(1);
      a.raw_answer = "not in the teacher's table";
      return a;  // kUnknown
    }
    if (!query.is_pair()) {
      a.label = *first ? Label::kHelpful : Label::kUnhelpful;
    } else {
      a.label = *first == *second ? Label::kTie
                : *first          ? Label::kFirst
                                  : Label::kSecond;
    }
    a.raw_answer = std::string(LabelName(a.label));
    return a;
  }
  std::vector<std::string> captions = {query.first};
  if (query.is_pair()) captions.push_back(*query.second);
  at::Tensor scores;
  {
    std::lock_guard lock(mu_);
    scores = distiller_->Score(captions);
  }
  const float s0 = scores[0].item<float>();
  if (!query.is_pair()) {
    const bool helpful = model_kind_ == "classification" ? s0 > 0.5f : s0 > 0;
    a.label = helpful ? Label::kHelpful : Label::kUnhelpful;
    a.score = s0;
    a.raw_answer = absl::StrFormat("score=%.6f", s0);
    return a;
  }
  const float s1 = scores[1].item<float>();
  a.label = std::fabs(s0 - s1) <= 1e-6f ? Label::kTie
            : s0 > s1                   ? Label::kFirst
                                        : Label::kSecond;
  a.score = s0 - s1;
  a.raw_answer = absl::StrFormat("scores=%.6f,%.6f", s0, s1);
  return a;
}

}  // namespace lantern::reward
