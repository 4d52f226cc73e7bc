#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "reward_server/annotator.h"

namespace lantern::reward::llm {

// Which OpenAI-compatible route is used.
enum class Endpoint {
  kChat,         // POST /v1/chat/completions, messages: system + user
  kCompletions,  // POST /v1/completions, one prompt string
};

// "chat" or "completions"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Endpoint> EndpointFromName(std::string_view name);

// The route's full URL. `base_url` is the server, e.g. "http://h:8089"; a
// trailing "/" is dropped and a base that already ends in "/v1" (OpenAI
// style, "https://api.example.com/v1") is not given a second one.
std::string EndpointUrl(std::string_view base_url, Endpoint endpoint);

// What a template asks: label one caption or compare two.
enum class Task { kClassify, kRank };

// Makes raw game text safe to put in a prompt and in JSON:
//  - trailing NUL bytes (fixed-size message padding) are dropped;
//  - valid UTF-8 sequences are kept;
//  - every other byte >= 0x80 is read as Latin-1 (NetHack's messages are
//    8-bit text; ONI decodes them the same way) and written as UTF-8;
//  - control characters (C0, DEL, C1), newlines and tabs included, become a
//    space, so a caption can never start a new "Label:" line;
//  - leading and trailing spaces are trimmed.
// Quotes and braces are kept as they are: JSON escaping is the JSON writer's
// job, and placeholders are replaced in one pass, so a caption containing
// "{goal}" stays literal. The result is always valid UTF-8.
std::string SanitizeText(std::string_view raw);

struct RenderedPrompt {
  std::string system;  // empty: no system message
  std::string user;
};

// A prompt template file. Syntax:
//  - Lines at the top of the file that start with '#' are comments and are
//    dropped (a '#' line further down is text).
//  - A line "=== user ===" splits the file: text above it is the system
//    message (it may be headed by an optional "=== system ===" line), text
//    below it is the user message. Without the marker, everything is the
//    user message and no system message is sent.
//  - Placeholders: {goal}; {caption} (classification); {caption_1} and
//    {caption_2} (ranking). Any other brace text is literal. A
//    classification template must use {caption}, a ranking template both
//    {caption_1} and {caption_2}, and neither may use the other's.
//  - Leading and trailing blank lines of each part are dropped.
// Thread-safe after construction (Render is const).
class PromptTemplate {
 public:
  // Reads and checks `path`. NOT_FOUND (naming the file) if it cannot be
  // read; INVALID_ARGUMENT (naming the file) if it is empty or malformed.
  static absl::StatusOr<PromptTemplate> Load(const std::string& path,
                                             Task task);
  // Same from text; `source` names it in error messages.
  static absl::StatusOr<PromptTemplate> Parse(std::string_view text,
                                              std::string_view source,
                                              Task task);

  // Fills the placeholders with SanitizeText(goal) and the sanitised
  // captions: query.first ({caption} or {caption_1}) and query.second
  // ({caption_2}; "" when unset).
  RenderedPrompt Render(std::string_view goal, const Query& query) const;

  Task task() const { return task_; }
  const std::string& system() const { return system_; }
  const std::string& user() const { return user_; }

 private:
  PromptTemplate(Task task, std::string system, std::string user)
      : task_(task), system_(std::move(system)), user_(std::move(user)) {}

  Task task_;
  std::string system_;
  std::string user_;
};

// llama.cpp GBNF grammars that force the answer formats the parsers in
// llm_answer.h accept, with a short, bounded analysis (one lowercase letter
// then at most 79 of [a-z ,.']) so that even a random-weight model finishes
// in a few dozen tokens:
//   classification: "Analysis: <text>\nLabel: helpful|unhelpful"
//   ranking:        "Analysis: <text>\n(\"best_description\": 1|2|None)"
std::string_view ClassificationGrammar();
std::string_view RankingGrammar();

struct RequestOptions {
  std::string model;
  double temperature = 0.1;
  int64_t max_tokens = 256;
  bool grammar = true;  // adds llama.cpp's "grammar" field
};

// The JSON request body for `endpoint`: model, temperature, max_tokens,
// "stream": false, and either "messages" (chat: the system message when
// there is one, then the user message) or "prompt" (completions: system,
// a blank line, user). With options.grammar, "grammar" holds the task's
// grammar (llama.cpp only: turn it off for servers that reject unknown
// fields). Never fails: the prompt is valid UTF-8 by construction.
std::string BuildRequestBody(Endpoint endpoint, Task task,
                             const RenderedPrompt& prompt,
                             const RequestOptions& options);

}  // namespace lantern::reward::llm
