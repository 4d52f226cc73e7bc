#include "reward_server/annotator_factory.h"

#include "reward_server/annotators/embedding_annotator.h"
#include "reward_server/annotators/rules_annotator.h"
#include "reward_server/llm/llm_annotator.h"
#include "reward_server/model_annotator.h"

namespace lantern::reward {
namespace {

template <class T>
absl::StatusOr<std::unique_ptr<Annotator>> Upcast(
    absl::StatusOr<std::unique_ptr<T>> made) {
  if (!made.ok()) return made.status();
  return std::unique_ptr<Annotator>(std::move(*made));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Annotator>> MakeAnnotator(
    const common::AnnotatorConfig& config) {
  if (config.kind == "llm") return Upcast(LlmAnnotator::Create(config));
  if (config.kind == "embedding") {
    return Upcast(EmbeddingAnnotator::Create(config));
  }
  if (config.kind == "rules") return Upcast(RulesAnnotator::Create(config));
  return Upcast(ModelAnnotator::Create(config));
}

}  // namespace lantern::reward
