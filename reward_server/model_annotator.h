#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "reward_server/annotator.h"

namespace lantern::reward_model {
class Distiller;
}

namespace lantern::reward {

// A reward model as the teacher (kind "model"): a file written by a reward
// server (runs/<name>/reward_model.bin, a serialized v1::RewardModel), e.g.
// distilled from an LLM in an earlier run, or trained offline, Motif-style.
// classification: helpful when P(helpful) > 0.5; ranking: a pair's higher
// score wins (within 1e-6: tie), a single caption is helpful when its score
// is above 0; retrieval: the stored label, unknown for other captions.
class ModelAnnotator final : public Annotator {
 public:
  static absl::StatusOr<std::unique_ptr<ModelAnnotator>> Create(
      const common::AnnotatorConfig& config);
  ~ModelAnnotator() override;

  std::string_view kind() const override { return "model"; }
  absl::StatusOr<Annotation> Annotate(const Query& query,
                                      std::stop_token stop) override;

 private:
  ModelAnnotator() = default;

  std::string name_;  // "<kind>-v<version>"
  std::string model_kind_;
  std::mutex mu_;  // the distiller is not thread-safe
  std::unique_ptr<reward_model::Distiller> distiller_;
  std::unordered_map<std::string, bool> table_;  // retrieval
};

}  // namespace lantern::reward
