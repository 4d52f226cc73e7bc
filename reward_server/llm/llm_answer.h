#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "reward_server/annotator.h"
#include "reward_server/llm/llm_prompt.h"

// Pure parsers for an OpenAI-compatible server's answers. No I/O, no state:
// safe from any thread.
namespace lantern::reward::llm {

// What a completion response holds.
struct ResponseText {
  std::string text;           // the generated answer
  std::string model;          // the response's "model" ("" if absent)
  std::string finish_reason;  // e.g. "stop", "length" ("" if absent)
};

// Extracts the answer from a response body: choices[0].message.content for
// kChat, choices[0].text for kCompletions. INVALID_ARGUMENT, with the
// reason, for an empty body, text that is not JSON (e.g. truncated), an
// "error" object, or a missing or non-string field. Never throws.
absl::StatusOr<ResponseText> ExtractResponseText(std::string_view body,
                                                 Endpoint endpoint);

// A parsed answer: a label, or kUnknown with the reason.
struct ParsedAnswer {
  Label label = Label::kUnknown;
  std::string reason;  // empty unless label is kUnknown
};

// Classification, in the format the prompt and grammar ask for:
//
//   Analysis: <one sentence>
//   Label: helpful            (or: Label: unhelpful)
//
// Rules (case-insensitive; everything up to a "</think>" is ignored):
//  - A label line starts with "Label" (after optional whitespace and
//    markdown marks * _ # > - `), then ':' or '=', then exactly one word,
//    "helpful" or "unhelpful", optionally wrapped in quotes, brackets or
//    markdown marks, followed by nothing but whitespace and . ! * _ " ' `
//    ) ] > on that line. Lines after it are ignored.
//  - A label line holding anything else ("Label: not helpful", "Label:
//    helpful or unhelpful", "Label: helpful, since ...") makes the whole
//    answer unknown, as do label lines that disagree.
//  - Without any label line, an answer that is only the word "helpful" or
//    "unhelpful" (with optional quotes and a final period) is accepted;
//    every other answer, e.g. one that only says "helpful" in its
//    analysis, is unknown. Nothing ever defaults to kUnhelpful.
ParsedAnswer ParseClassificationAnswer(std::string_view text);

// Ranking, in Motif's format:
//
//   Analysis: <one sentence>
//   ("best_description": 1)   (or 2, or None for a tie)
//
// Rules (case-insensitive; everything up to a "</think>" is ignored):
//  - A declaration is "best_description" (also "best description"), an
//    optional closing quote, ':' or '=', then one token: 1 -> kFirst,
//    2 -> kSecond, None or tie -> kTie, optionally quoted, followed by
//    nothing but whitespace and punctuation ( . , ! ) ] } " ' * _ ` ) on that
//    line. "best_description" without ':' or '=' is prose and ignored.
//  - A declaration with any other token or trailing words makes the answer
//    unknown, as do declarations that disagree.
//  - Without a declaration, an answer that is only 1, 2, None or tie is
//    accepted; anything else is unknown.
ParsedAnswer ParseRankingAnswer(std::string_view text);

// ParseClassificationAnswer or ParseRankingAnswer.
ParsedAnswer ParseAnswer(Task task, std::string_view text);

}  // namespace lantern::reward::llm
