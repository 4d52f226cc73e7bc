#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "reward_server/annotator.h"
#include "reward_server/annotators/word_vectors.h"

namespace lantern::reward {

// ONI's ELLM-BoW baseline: a caption's mean word vector (see WordVectors for
// the tokenizer and stop words) compared with the goal text's by cosine
// similarity. Works with no LLM at all.
//  - Classification: helpful when cosine >= similarity_threshold; a caption
//    with no known word is unhelpful with score 0. score = the cosine.
//  - Ranking: the caption with the higher cosine wins (a caption with no
//    known word counts as 0); tie within 1e-6. score = cos(first) -
//    cos(second).
// model = "glove-100d", prompt_version = "", raw_answer holds the cosine(s).
// Thread-safe: read-only after construction; about a microsecond per caption.
class EmbeddingAnnotator final : public Annotator {
 public:
  static constexpr std::string_view kKind = "embedding";
  static constexpr std::string_view kModel = "glove-100d";
  static constexpr double kTieTolerance = 1e-6;

  // Loads the vectors file (config.vectors, or the default path: see
  // ResolveVectorsPath) and embeds config.goal. Blocks on file I/O. Errors:
  // WordVectors::Load's; InvalidArgument when the goal has no known word or
  // the threshold is not in [-1, 1].
  static absl::StatusOr<std::unique_ptr<EmbeddingAnnotator>> Create(
      const common::AnnotatorConfig& config);
  // The same with vectors already loaded (shareable between annotators).
  static absl::StatusOr<std::unique_ptr<EmbeddingAnnotator>> Create(
      std::shared_ptr<const WordVectors> vectors, std::string_view goal,
      double similarity_threshold);

  std::string_view kind() const override { return kKind; }

  // Never blocks. Any thread. Errors: Cancelled when `stop` is requested.
  absl::StatusOr<Annotation> Annotate(const Query& query,
                                      std::stop_token stop) override;

  // The cosine between `text`'s mean vector and the goal's; nullopt when
  // `text` has no known word. Any thread.
  std::optional<double> Similarity(std::string_view text) const;

  double threshold() const { return threshold_; }
  const WordVectors& vectors() const { return *vectors_; }

 private:
  EmbeddingAnnotator(std::shared_ptr<const WordVectors> vectors,
                     std::vector<float> goal_unit, double threshold);

  std::shared_ptr<const WordVectors> vectors_;
  std::vector<float> goal_unit_;  // the goal's mean vector, L2-normalised
  double threshold_;
};

}  // namespace lantern::reward
