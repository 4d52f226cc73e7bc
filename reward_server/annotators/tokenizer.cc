// The tokenizer of the embedding annotator; see tokenizer.h for the rules.

#include "reward_server/annotators/tokenizer.h"

#include <algorithm>

namespace lantern::reward {
namespace {

// Sorted, for binary search (checked at compile time).
constexpr std::string_view kStopWords[] = {
    "a",     "about",   "all",   "also",   "am",       "an",     "and",
    "any",   "are",     "as",    "at",     "be",       "been",   "being",
    "but",   "by",      "can",   "could",  "did",      "do",     "does",
    "doing", "each",    "every", "for",    "from",     "had",    "has",
    "have",  "having",  "he",    "her",    "here",     "hers",   "herself",
    "him",   "himself", "his",   "i",      "if",       "in",     "into",
    "is",    "it",      "its",   "itself", "just",     "may",    "me",
    "might", "mine",    "must",  "my",     "myself",   "nor",    "of",
    "on",    "only",    "onto",  "or",     "our",      "ours",   "over",
    "own",   "same",    "shall", "she",    "should",   "so",     "some",
    "such",  "than",    "that",  "the",    "their",    "theirs", "them",
    "then",  "there",   "these", "they",   "this",     "those",  "to",
    "too",   "under",   "us",    "very",   "was",      "we",     "were",
    "what",  "which",   "who",   "whom",   "whose",    "will",   "with",
    "would", "you",     "your",  "yours",  "yourself",
};
static_assert(std::ranges::is_sorted(kStopWords));

constexpr bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}
constexpr char Lower(char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// The stem of "<stem>n't" when it is not just the word without its "n".
std::string_view NegatedStem(std::string_view stem) {
  if (stem == "ca") return "can";
  if (stem == "wo") return "will";
  if (stem == "sha") return "shall";
  if (stem == "ai") return "is";
  return stem;
}

// The current run of ForEachToken. Captions are short: a stack buffer
// avoids an allocation per call; longer runs move to the heap.
class RunBuffer {
 public:
  void clear() {
    size_ = 0;
    heap_.clear();
  }
  void push_back(char c) {
    if (size_ < sizeof(stack_)) {
      stack_[size_++] = c;
      return;
    }
    if (heap_.empty()) heap_.assign(stack_, size_);
    heap_.push_back(c);
    ++size_;
  }
  std::string_view view() const {
    return size_ <= sizeof(stack_) ? std::string_view(stack_, size_)
                                   : std::string_view(heap_);
  }

 private:
  char stack_[128];
  size_t size_ = 0;
  std::string heap_;
};

// Emits the tokens of one run of letters, digits and joining apostrophes
// (stored as '\''), already lowercased.
void EmitRun(std::string_view run,
             absl::FunctionRef<void(std::string_view)> fn) {
  const size_t last = run.rfind('\'');
  if (last == std::string_view::npos) {  // the common case: a plain word
    fn(run);
    return;
  }
  std::string_view body = run;
  std::string_view tail;  // a token to emit after the body
  {
    const std::string_view clitic = run.substr(last + 1);
    const std::string_view head = run.substr(0, last);
    if (clitic == "t" && head.ends_with('n') && head.size() > 1 &&
        head[head.size() - 2] != '\'') {
      body = head.substr(0, head.size() - 1);
      tail = "not";
    } else if (clitic == "s" || clitic == "re" || clitic == "ll" ||
               clitic == "ve" || clitic == "m" || clitic == "d") {
      body = head;
    }
  }
  // What is left may still hold apostrophes ("o'clock"): they separate.
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('\'', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view part = body.substr(start, end - start);
    if (!tail.empty() && end == body.size()) part = NegatedStem(part);
    if (!part.empty()) fn(part);
    start = end + 1;
  }
  if (!tail.empty()) fn(tail);
}

// Size in bytes of an apostrophe at text[i]: 1 for ', 3 for U+2019, else 0.
size_t ApostropheAt(std::string_view text, size_t i) {
  if (text[i] == '\'') return 1;
  if (text.substr(i, 3) == "\xE2\x80\x99") return 3;
  return 0;
}

}  // namespace

void ForEachToken(std::string_view text,
                  absl::FunctionRef<void(std::string_view)> fn) {
  RunBuffer run;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsAlnum(text[i])) {
      ++i;
      continue;
    }
    run.clear();
    while (i < text.size()) {
      if (IsAlnum(text[i])) {
        run.push_back(Lower(text[i++]));
        continue;
      }
      const size_t apostrophe = ApostropheAt(text, i);
      if (apostrophe == 0 || i + apostrophe >= text.size() ||
          !IsAlnum(text[i + apostrophe])) {
        break;
      }
      run.push_back('\'');
      i += apostrophe;
    }
    EmitRun(run.view(), fn);
  }
}

std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  ForEachToken(text, [&](std::string_view t) { tokens.emplace_back(t); });
  return tokens;
}

bool IsStopWord(std::string_view token) {
  return std::ranges::binary_search(kStopWords, token);
}

}  // namespace lantern::reward
