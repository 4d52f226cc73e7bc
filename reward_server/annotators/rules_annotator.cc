#include "reward_server/annotators/rules_annotator.h"

#include <re2/re2.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lantern::reward {
namespace {

std::string Describe(const RulesAnnotator::Match& m) {
  if (m.rule < 0) return "no rule matched: unhelpful";
  return absl::StrCat("rules[", m.rule,
                      "] matched: ", std::string(LabelName(m.label)));
}

std::string_view StripSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RulesAnnotator>> RulesAnnotator::Create(
    const common::AnnotatorConfig& config) {
  return Create(config.rules);
}

absl::StatusOr<std::unique_ptr<RulesAnnotator>> RulesAnnotator::Create(
    const std::vector<std::string>& items) {
  if (items.empty()) {
    return absl::InvalidArgumentError(
        "annotator.rules is empty: the rules annotator needs at least one "
        "\"label=regex\" item");
  }
  std::vector<Rule> rules;
  std::vector<std::string> errors;
  RE2::Options options;
  options.set_log_errors(false);  // the error goes into the status instead
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = absl::StrCat("annotator.rules[", i, "]");
    const size_t eq = items[i].find('=');
    if (eq == std::string::npos) {
      errors.push_back(absl::StrCat(where, ": no '=' in \"", items[i],
                                    "\" (expected \"label=regex\")"));
      continue;
    }
    const std::string_view name =
        StripSpaces(std::string_view(items[i]).substr(0, eq));
    const std::string_view pattern = std::string_view(items[i]).substr(eq + 1);
    Label label;
    if (name == "helpful") {
      label = Label::kHelpful;
    } else if (name == "unhelpful") {
      label = Label::kUnhelpful;
    } else {
      errors.push_back(absl::StrCat(where, ": unknown label \"",
                                    std::string(name),
                                    "\" (expected helpful or unhelpful)"));
      continue;
    }
    if (pattern.empty()) {
      errors.push_back(absl::StrCat(
          where, ": empty regex (write \".*\" to match every caption)"));
      continue;
    }
    auto regex = std::make_unique<RE2>(pattern, options);
    if (!regex->ok()) {
      errors.push_back(absl::StrCat(where, ": bad regex \"",
                                    std::string(pattern),
                                    "\": ", regex->error()));
      continue;
    }
    rules.push_back({label, std::move(regex)});
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  }
  return std::unique_ptr<RulesAnnotator>(new RulesAnnotator(std::move(rules)));
}

RulesAnnotator::RulesAnnotator(std::vector<Rule> rules)
    : rules_(std::move(rules)) {}

RulesAnnotator::~RulesAnnotator() = default;

RulesAnnotator::Match RulesAnnotator::Classify(std::string_view caption) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (RE2::PartialMatch(caption, *rules_[i].regex)) {
      return {rules_[i].label, int(i)};
    }
  }
  return {};
}

absl::StatusOr<Annotation> RulesAnnotator::Annotate(const Query& query,
                                                    std::stop_token stop) {
  if (stop.stop_requested()) {
    return absl::CancelledError("rules annotator: stop requested");
  }
  counters_.attempts.fetch_add(1, std::memory_order_relaxed);
  Annotation a;
  a.model = std::string(kKind);
  const Match first = Classify(query.first);
  if (!query.is_pair()) {
    a.label = first.label;
    a.raw_answer = Describe(first);
    return a;
  }
  const Match second = Classify(*query.second);
  if (first.label == second.label) {
    a.label = Label::kTie;
  } else {
    a.label = first.label == Label::kHelpful ? Label::kFirst : Label::kSecond;
  }
  a.raw_answer =
      absl::StrCat("first: ", Describe(first), "; second: ", Describe(second));
  return a;
}

}  // namespace lantern::reward
