#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "reward_server/annotator.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace lantern::reward {

// Labels captions with regular expressions from the config: items
// "label=regex", label helpful or unhelpful, split at the first '='. A rule
// matches when its regex matches anywhere in the caption (anchor with ^ and $
// for a whole-caption match; case-sensitive unless the regex starts with
// (?i)). The first matching rule wins; no match is unhelpful.
// RE2 runs in time linear in the caption, so a hostile caption cannot cause
// catastrophic backtracking (RE2 has no backreferences or lookaround).
//  - Classification: the label of the first matching rule; score 0.
//  - Ranking: helpful beats unhelpful; equal labels tie. score 0.
// model = "rules", prompt_version = "", raw_answer names the matching
// rule(s). Thread-safe: read-only after construction (RE2 is thread-safe).
class RulesAnnotator final : public Annotator {
 public:
  static constexpr std::string_view kKind = "rules";

  // Parses and compiles config.rules. InvalidArgument listing every bad
  // item as "annotator.rules[i]: <why>" (no '=', unknown label, empty or
  // bad regex), or when there is no rule at all.
  static absl::StatusOr<std::unique_ptr<RulesAnnotator>> Create(
      const common::AnnotatorConfig& config);
  static absl::StatusOr<std::unique_ptr<RulesAnnotator>> Create(
      const std::vector<std::string>& rules);

  ~RulesAnnotator() override;

  std::string_view kind() const override { return kKind; }

  // Never blocks. Any thread. Errors: Cancelled when `stop` is requested.
  absl::StatusOr<Annotation> Annotate(const Query& query,
                                      std::stop_token stop) override;

  struct Match {
    Label label = Label::kUnhelpful;  // kHelpful or kUnhelpful
    int rule = -1;                    // index into the rules; -1: none
  };
  // The label of one caption and the rule that gave it. Any thread.
  Match Classify(std::string_view caption) const;

  size_t size() const { return rules_.size(); }

 private:
  struct Rule {
    Label label;
    std::unique_ptr<re2::RE2> regex;
  };
  explicit RulesAnnotator(std::vector<Rule> rules);

  std::vector<Rule> rules_;
};

}  // namespace lantern::reward
