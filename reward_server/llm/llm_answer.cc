#include "reward_server/llm/llm_answer.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace lantern::reward::llm {
namespace {

using nlohmann::json;

constexpr std::string_view kLeadMarks = " \t*_#>-`";
constexpr std::string_view kOpenMarks = " \t*_\"'`([<";
constexpr std::string_view kTrailMarks = " \t.,!*_\"'`)]}>";

bool IsAlpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool IsAlnum(char c) { return IsAlpha(c) || (c >= '0' && c <= '9'); }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? char(c | 0x20) : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

std::string_view SkipAny(std::string_view s, std::string_view chars) {
  while (!s.empty() && chars.find(s.front()) != std::string_view::npos) {
    s.remove_prefix(1);
  }
  return s;
}

std::string_view TrimAny(std::string_view s, std::string_view chars) {
  s = SkipAny(s, chars);
  while (!s.empty() && chars.find(s.back()) != std::string_view::npos) {
    s.remove_suffix(1);
  }
  return s;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// Reasoning models write "<think>...</think>" before the answer; a label
// mentioned while thinking is not the answer.
std::string_view AfterThinking(std::string_view text) {
  const std::string lower = LowerCopy(text);
  const size_t end = lower.rfind("</think>");
  return end == std::string::npos ? text : text.substr(end + 8);
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "\"" + std::string(s.substr(0, kMax));
  return out + (s.size() > kMax ? "...\"" : "\"");
}

// What follows a label key: "': helpful.'" -> the separator, one token and
// nothing else on the line. nullopt: no separator, so not a declaration;
// "" as the token: a declaration without exactly one clean token.
std::optional<std::string> ValueAfterKey(std::string_view rest,
                                         std::string_view line_end_chars) {
  rest = SkipAny(rest, " \t*_\"'`");
  if (rest.empty() || (rest.front() != ':' && rest.front() != '=')) {
    return std::nullopt;
  }
  rest = SkipAny(rest.substr(1), kOpenMarks);
  size_t n = 0;
  while (n < rest.size() && IsAlnum(rest[n])) ++n;
  const std::string token = LowerCopy(rest.substr(0, n));
  std::string_view tail = rest.substr(n);
  tail = tail.substr(0, tail.find_first_of(line_end_chars));
  if (!SkipAny(tail, kTrailMarks).empty()) return std::string();
  return token;
}

struct Scan {
  std::vector<Label> labels;
  std::string bad;  // the first malformed declaration, if any
};

ParsedAnswer Decide(const Scan& scan, std::string_view bare,
                    std::optional<Label> (*to_label)(std::string_view),
                    std::string_view what) {
  ParsedAnswer out;
  if (!scan.bad.empty()) {
    out.reason = "malformed " + std::string(what) + ": " + Quote(scan.bad);
    return out;
  }
  if (scan.labels.empty()) {
    // A bare answer: the label word alone.
    std::string_view core = TrimAny(bare, " \t\r\n\"'`*_.");
    if (std::optional<Label> label = to_label(LowerCopy(core))) {
      out.label = *label;
    } else {
      out.reason = core.empty()
                       ? "empty answer"
                       : "no " + std::string(what) + " in " + Quote(core);
    }
    return out;
  }
  for (Label label : scan.labels) {
    if (label != scan.labels.front()) {
      out.reason = "conflicting " + std::string(what) + "s";
      return out;
    }
  }
  out.label = scan.labels.front();
  return out;
}

std::optional<Label> ClassWord(std::string_view word) {
  if (word == "helpful") return Label::kHelpful;
  if (word == "unhelpful") return Label::kUnhelpful;
  return std::nullopt;
}

std::optional<Label> RankToken(std::string_view token) {
  if (token == "1") return Label::kFirst;
  if (token == "2") return Label::kSecond;
  if (token == "none" || token == "tie") return Label::kTie;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<ResponseText> ExtractResponseText(std::string_view body,
                                                 Endpoint endpoint) {
  if (TrimAny(body, " \t\r\n").empty()) {
    return absl::InvalidArgumentError("empty response body");
  }
  try {
    const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      return absl::InvalidArgumentError("response is not JSON (truncated?)");
    }
    if (!doc.is_object()) {
      return absl::InvalidArgumentError("response is not a JSON object");
    }
    if (auto e = doc.find("error"); e != doc.end() && !e->is_null()) {
      const std::string message = e->is_object() && e->contains("message") &&
                                          (*e)["message"].is_string()
                                      ? (*e)["message"].get<std::string>()
                                      : e->dump();
      return absl::InvalidArgumentError("response holds an error: " + message);
    }
    auto choices = doc.find("choices");
    if (choices == doc.end() || !choices->is_array() || choices->empty() ||
        !(*choices)[0].is_object()) {
      return absl::InvalidArgumentError("response has no choices[0]");
    }
    const json& choice = (*choices)[0];
    const json* text = nullptr;
    if (endpoint == Endpoint::kChat) {
      auto message = choice.find("message");
      if (message == choice.end() || !message->is_object()) {
        return absl::InvalidArgumentError("response has no choices[0].message");
      }
      auto content = message->find("content");
      if (content != message->end()) text = &*content;
    } else if (auto t = choice.find("text"); t != choice.end()) {
      text = &*t;
    }
    const char* field = endpoint == Endpoint::kChat
                            ? "choices[0].message.content"
                            : "choices[0].text";
    if (text == nullptr || !text->is_string()) {
      return absl::InvalidArgumentError(std::string("response has no string ") +
                                        field);
    }
    ResponseText out;
    out.text = text->get<std::string>();
    if (auto m = doc.find("model"); m != doc.end() && m->is_string()) {
      out.model = m->get<std::string>();
    }
    if (auto f = choice.find("finish_reason");
        f != choice.end() && f->is_string()) {
      out.finish_reason = f->get<std::string>();
    }
    return out;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(std::string("bad response JSON: ") +
                                      e.what());
  }
}

ParsedAnswer ParseClassificationAnswer(std::string_view text) {
  text = AfterThinking(text);
  Scan scan;
  size_t pos = 0;
  while (pos <= text.size() && scan.bad.empty()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    std::string_view rest = SkipAny(line, kLeadMarks);
    if (!StartsWithNoCase(rest, "label")) continue;
    rest.remove_prefix(5);
    if (!rest.empty() && IsAlnum(rest.front())) continue;  // "labelled", ...
    std::optional<std::string> word = ValueAfterKey(rest, "\r\n");
    if (!word) continue;
    if (std::optional<Label> label = ClassWord(*word)) {
      scan.labels.push_back(*label);
    } else {
      scan.bad = std::string(TrimAny(line, " \t\r"));
    }
  }
  return Decide(scan, text, &ClassWord, "label line");
}

ParsedAnswer ParseRankingAnswer(std::string_view text) {
  text = AfterThinking(text);
  const std::string lower = LowerCopy(text);
  Scan scan;
  for (size_t at = lower.find("best"); at != std::string::npos;
       at = lower.find("best", at + 4)) {
    std::string_view rest = std::string_view(text).substr(at + 4);
    rest = SkipAny(rest, "_ ");
    if (!StartsWithNoCase(rest, "description")) continue;
    rest.remove_prefix(11);
    if (!rest.empty() && IsAlnum(rest.front())) continue;  // "descriptions"
    std::optional<std::string> token = ValueAfterKey(rest, "\r\n(");
    if (!token) continue;
    if (std::optional<Label> label = RankToken(*token)) {
      scan.labels.push_back(*label);
    } else {
      const size_t eol = text.find('\n', at);
      scan.bad = std::string(TrimAny(
          text.substr(at, eol == std::string_view::npos ? eol : eol - at),
          " \t\r"));
      break;
    }
  }
  return Decide(scan, text, &RankToken, "best_description");
}

ParsedAnswer ParseAnswer(Task task, std::string_view text) {
  return task == Task::kClassify ? ParseClassificationAnswer(text)
                                 : ParseRankingAnswer(text);
}

}  // namespace lantern::reward::llm
