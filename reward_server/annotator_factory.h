#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "reward_server/annotator.h"

namespace lantern::reward {

// The annotator `config.kind` names: llm, embedding, rules or model.
// INVALID_ARGUMENT (naming the key) when it cannot be set up, e.g. a missing
// prompt file, vectors file or teacher, or a bad rule.
absl::StatusOr<std::unique_ptr<Annotator>> MakeAnnotator(
    const common::AnnotatorConfig& config);

}  // namespace lantern::reward
