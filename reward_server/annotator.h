#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lantern::reward {

// What an annotator is asked: one caption (retrieval, classification) or two
// (ranking: which shows more progress toward the goal?).
struct Query {
  std::string first;
  std::optional<std::string> second;  // set for ranking

  bool is_pair() const { return second.has_value(); }
  bool operator==(const Query&) const = default;
};

// The label of a query. Classification: helpful or unhelpful. Ranking:
// first, second or tie. kUnknown: the answer could not be parsed; it is
// counted and never stored as a label.
enum class Label : int {
  kUnhelpful = 0,
  kHelpful = 1,
  kFirst = 2,
  kSecond = 3,
  kTie = 4,
  kUnknown = 5,
};

// "helpful", "unhelpful", "first", "second", "tie", "unknown".
std::string_view LabelName(Label label);
// The inverse of LabelName; nullopt for any other text.
std::optional<Label> LabelFromName(std::string_view name);

struct Annotation {
  Label label = Label::kUnknown;
  // The annotator's raw score when it has one (embedding: cosine
  // similarity; model: P(helpful) or the score difference); 0 otherwise.
  double score = 0;
  std::string model;           // e.g. the served LLM's name, "glove-100d"
  std::string prompt_version;  // e.g. "oni-v1"; "" where there is no prompt
  std::string raw_answer;      // exactly what the annotator answered
};

// What an annotator counts, for the server's stats. Thread-safe.
struct AnnotatorCounters {
  std::atomic<uint64_t> attempts{0};  // requests made (first tries + retries)
  std::atomic<uint64_t> retries{0};   // attempts after the first
  std::atomic<uint64_t> errors{0};    // failed attempts: HTTP status, timeout
  std::atomic<uint64_t> timeouts{0};  // of which timeouts
  std::atomic<uint64_t> unknown_answers{0};  // answers that did not parse
};

// Labels queries. The server calls Annotate from up to `concurrency` threads
// at once, so implementations are thread-safe.
class Annotator {
 public:
  virtual ~Annotator() = default;

  // "llm", "embedding", "rules" or "model".
  virtual std::string_view kind() const = 0;

  // Blocks until the query is labelled. Returns:
  //  - an Annotation with a label other than kUnknown: store it;
  //  - an Annotation with kUnknown: every answer, after the configured
  //    number of re-asks, was unparseable; never stored, counted;
  //  - an error: the annotator could not be reached after its retries (or
  //    `stop` was requested); the query stays pending and is tried again.
  virtual absl::StatusOr<Annotation> Annotate(const Query& query,
                                              std::stop_token stop) = 0;

  const AnnotatorCounters& counters() const { return counters_; }

 protected:
  AnnotatorCounters counters_;
};

}  // namespace lantern::reward
