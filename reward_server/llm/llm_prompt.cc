#include "reward_server/llm/llm_prompt.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/status/status.h"
#include "common/files.h"

namespace lantern::reward::llm {
namespace {

constexpr std::string_view kUserMarker = "=== user ===";
constexpr std::string_view kSystemMarker = "=== system ===";

// The length of the valid UTF-8 sequence at p[0..n), or 0 if there is none
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(const unsigned char* p, size_t n) {
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string_view TrimBlankLines(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  // Drop whole blank lines at the start, keeping the first line's indent.
  while (true) {
    size_t i = 0;
    while (i < s.size() && blank(s[i])) ++i;
    if (i < s.size() && s[i] == '\n') {
      s.remove_prefix(i + 1);
    } else {
      break;
    }
  }
  while (!s.empty() && (blank(s.back()) || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view LineContent(std::string_view line) {
  while (!line.empty() &&
         (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  return line;
}

bool Contains(const std::string& a, const std::string& b, std::string_view p) {
  return a.find(p) != std::string::npos || b.find(p) != std::string::npos;
}

// Replaces the known placeholders in one left-to-right pass, so that text
// substituted in is never scanned again.
std::string Substitute(
    std::string_view text,
    const std::array<std::pair<std::string_view, std::string_view>, 4>& vars) {
  std::string out;
  out.reserve(text.size() + 256);
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    if (text[i] == '{') {
      for (const auto& [name, value] : vars) {
        if (text.substr(i, name.size()) == name) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

}  // namespace

absl::StatusOr<Endpoint> EndpointFromName(std::string_view name) {
  if (name == "chat") return Endpoint::kChat;
  if (name == "completions") return Endpoint::kCompletions;
  return absl::InvalidArgumentError(
      "annotator endpoint must be chat or completions, got \"" +
      std::string(name) + "\"");
}

std::string EndpointUrl(std::string_view base_url, Endpoint endpoint) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  std::string url(base_url);
  if (!base_url.ends_with("/v1")) url += "/v1";
  url += endpoint == Endpoint::kChat ? "/chat/completions" : "/completions";
  return url;
}

std::string SanitizeText(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  std::string out;
  out.reserve(raw.size() + raw.size() / 4);
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  size_t i = 0;
  while (i < raw.size()) {
    const unsigned char c = p[i];
    if (c < 0x20 || c == 0x7F) {
      out += ' ';
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(p + i, raw.size() - i);
    if (len == 1) {
      out += static_cast<char>(c);
    } else if (len == 2 && c == 0xC2 && p[i + 1] <= 0x9F) {
      out += ' ';  // a C1 control character, U+0080..U+009F
    } else if (len > 1) {
      out.append(raw.data() + i, len);
    } else if (c <= 0x9F) {
      out += ' ';  // Latin-1's C1 controls
    } else {
      // Latin-1 U+00A0..U+00FF as two UTF-8 bytes.
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
    i += len > 0 ? len : 1;
  }
  return std::string(TrimSpaces(out));
}

absl::StatusOr<PromptTemplate> PromptTemplate::Load(const std::string& path,
                                                    Task task) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        "cannot read prompt template \"" + path +
                            "\": " + std::string(text.status().message()));
  }
  return Parse(*text, path, task);
}

absl::StatusOr<PromptTemplate> PromptTemplate::Parse(std::string_view text,
                                                     std::string_view source,
                                                     Task task) {
  const std::string where = "prompt template \"" + std::string(source) + "\"";
  // Drop the comment header.
  while (!text.empty() && text.front() == '#') {
    const size_t eol = text.find('\n');
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
  }
  // Split at the markers.
  size_t system_begin = 0, user_marker = std::string_view::npos, user_begin = 0;
  bool have_system = false;
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = LineContent(text.substr(pos, eol - pos));
    const size_t next = std::min(eol + 1, text.size());
    if (line == kSystemMarker) {
      if (have_system || user_marker != std::string_view::npos ||
          !TrimBlankLines(text.substr(0, pos)).empty()) {
        return absl::InvalidArgumentError(
            where + ": \"=== system ===\" must come first, once");
      }
      have_system = true;
      system_begin = next;
    } else if (line == kUserMarker) {
      if (user_marker != std::string_view::npos) {
        return absl::InvalidArgumentError(where +
                                          ": more than one \"=== user ===\"");
      }
      user_marker = pos;
      user_begin = next;
    }
    pos = next;
  }
  if (have_system && user_marker == std::string_view::npos) {
    return absl::InvalidArgumentError(
        where + ": \"=== system ===\" without a \"=== user ===\" line");
  }
  std::string_view system_part, user_part = text;
  if (user_marker != std::string_view::npos) {
    system_part = text.substr(system_begin, user_marker - system_begin);
    user_part = text.substr(user_begin);
  }
  std::string system(TrimBlankLines(system_part));
  std::string user(TrimBlankLines(user_part));
  if (user.empty()) {
    return absl::InvalidArgumentError(
        where + (system.empty() ? " is empty" : " has no user message"));
  }
  const bool classify = task == Task::kClassify;
  const std::string_view own[] = {"{caption}", "{caption_1}", "{caption_2}"};
  for (int i = 0; i < 3; ++i) {
    const bool wanted = classify ? i == 0 : i > 0;
    if (wanted != Contains(system, user, own[i])) {
      return absl::InvalidArgumentError(
          where + (wanted ? " lacks " : " must not use ") +
          std::string(own[i]) +
          (classify ? " (a classification prompt uses {caption})"
                    : " (a ranking prompt uses {caption_1} and {caption_2})"));
    }
  }
  return PromptTemplate(task, std::move(system), std::move(user));
}

RenderedPrompt PromptTemplate::Render(std::string_view goal,
                                      const Query& query) const {
  const std::string g = SanitizeText(goal);
  const std::string first = SanitizeText(query.first);
  const std::string second = SanitizeText(query.second.value_or(""));
  const std::array<std::pair<std::string_view, std::string_view>, 4> vars = {{
      {"{goal}", g},
      {"{caption}", first},
      {"{caption_1}", first},
      {"{caption_2}", second},
  }};
  return RenderedPrompt{Substitute(system_, vars), Substitute(user_, vars)};
}

std::string_view ClassificationGrammar() {
  return "root ::= \"Analysis: \" analysis \"\\nLabel: \" label\n"
         "analysis ::= [a-z] [a-z ,.']{0,79}\n"
         "label ::= \"helpful\" | \"unhelpful\"\n";
}

std::string_view RankingGrammar() {
  return "root ::= \"Analysis: \" analysis "
         "\"\\n(\\\"best_description\\\": \" choice \")\"\n"
         "analysis ::= [a-z] [a-z ,.']{0,79}\n"
         "choice ::= \"1\" | \"2\" | \"None\"\n";
}

std::string BuildRequestBody(Endpoint endpoint, Task task,
                             const RenderedPrompt& prompt,
                             const RequestOptions& options) {
  nlohmann::json body = {
      {"model", options.model},
      {"temperature", options.temperature},
      {"max_tokens", options.max_tokens},
      {"stream", false},
  };
  if (endpoint == Endpoint::kChat) {
    nlohmann::json messages = nlohmann::json::array();
    if (!prompt.system.empty()) {
      messages.push_back({{"role", "system"}, {"content", prompt.system}});
    }
    messages.push_back({{"role", "user"}, {"content", prompt.user}});
    body["messages"] = std::move(messages);
  } else {
    body["prompt"] = prompt.system.empty()
                         ? prompt.user + "\n"
                         : prompt.system + "\n\n" + prompt.user + "\n";
  }
  if (options.grammar) {
    body["grammar"] = std::string(
        task == Task::kClassify ? ClassificationGrammar() : RankingGrammar());
  }
  // The text is valid UTF-8 by construction; "replace" only guards against
  // a model name from the config that is not.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lantern::reward::llm
