#include "reward_server/annotators/embedding_annotator.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace lantern::reward {
namespace {

// Captions are short and the dimension is 100: a stack buffer keeps
// Similarity free of allocations.
constexpr int kMaxStackDim = 512;

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddingAnnotator>> EmbeddingAnnotator::Create(
    const common::AnnotatorConfig& config) {
  LANTERN_ASSIGN_OR_RETURN(const std::string path,
                           ResolveVectorsPath(config.vectors));
  LANTERN_ASSIGN_OR_RETURN(WordVectors vectors, WordVectors::Load(path));
  return Create(std::make_shared<const WordVectors>(std::move(vectors)),
                config.goal, config.similarity_threshold);
}

absl::StatusOr<std::unique_ptr<EmbeddingAnnotator>> EmbeddingAnnotator::Create(
    std::shared_ptr<const WordVectors> vectors, std::string_view goal,
    double similarity_threshold) {
  if (vectors == nullptr) {
    return absl::InvalidArgumentError("EmbeddingAnnotator: no word vectors");
  }
  if (!(similarity_threshold >= -1 && similarity_threshold <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("annotator.similarity_threshold must be in [-1, 1], got ",
                     similarity_threshold));
  }
  std::optional<std::vector<float>> mean = vectors->MeanVector(goal);
  if (!mean.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("annotator.goal \"", std::string(goal),
                     "\" has no word in the vocabulary (stop words do not "
                     "count): the embedding annotator cannot compare with it"));
  }
  double norm = 0;
  for (float x : *mean) norm += double(x) * x;
  norm = std::sqrt(norm);
  if (norm == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("annotator.goal \"", std::string(goal),
                     "\" has a zero mean word vector"));
  }
  for (float& x : *mean) x = float(x / norm);
  return std::unique_ptr<EmbeddingAnnotator>(new EmbeddingAnnotator(
      std::move(vectors), *std::move(mean), similarity_threshold));
}

EmbeddingAnnotator::EmbeddingAnnotator(
    std::shared_ptr<const WordVectors> vectors, std::vector<float> goal_unit,
    double threshold)
    : vectors_(std::move(vectors)),
      goal_unit_(std::move(goal_unit)),
      threshold_(threshold) {}

std::optional<double> EmbeddingAnnotator::Similarity(
    std::string_view text) const {
  const int dim = vectors_->dim();
  float stack[kMaxStackDim];
  std::vector<float> heap;
  std::span<float> sum;
  if (dim <= kMaxStackDim) {
    sum = std::span<float>(stack, dim);
    std::fill(sum.begin(), sum.end(), 0.0f);
  } else {
    heap.assign(dim, 0.0f);
    sum = heap;
  }
  if (vectors_->AccumulateText(text, sum) == 0) return std::nullopt;
  // The goal is a unit vector, so cos = <sum, goal> / |sum|; the mean's
  // 1/n cancels.
  double dot = 0, norm = 0;
  for (int d = 0; d < dim; ++d) {
    dot += double(sum[d]) * goal_unit_[d];
    norm += double(sum[d]) * sum[d];
  }
  if (norm == 0) return 0.0;
  return dot / std::sqrt(norm);
}

absl::StatusOr<Annotation> EmbeddingAnnotator::Annotate(const Query& query,
                                                        std::stop_token stop) {
  if (stop.stop_requested()) {
    return absl::CancelledError("embedding annotator: stop requested");
  }
  counters_.attempts.fetch_add(1, std::memory_order_relaxed);
  Annotation a;
  a.model = std::string(kModel);
  const std::optional<double> first = Similarity(query.first);
  if (!query.is_pair()) {
    a.score = first.value_or(0.0);
    a.label = first.has_value() && a.score >= threshold_ ? Label::kHelpful
                                                         : Label::kUnhelpful;
    a.raw_answer = first.has_value() ? absl::StrFormat("cos=%.6f", a.score)
                                     : std::string("cos=0 (no known word)");
    return a;
  }
  const std::optional<double> second = Similarity(*query.second);
  const double c1 = first.value_or(0.0);
  const double c2 = second.value_or(0.0);
  a.score = c1 - c2;
  if (std::abs(a.score) <= kTieTolerance) {
    a.label = Label::kTie;
  } else {
    a.label = a.score > 0 ? Label::kFirst : Label::kSecond;
  }
  a.raw_answer = absl::StrFormat("cos(first)=%.6f%s cos(second)=%.6f%s", c1,
                                 first ? "" : " (no known word)", c2,
                                 second ? "" : " (no known word)");
  return a;
}

}  // namespace lantern::reward
