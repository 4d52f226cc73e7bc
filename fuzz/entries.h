#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lantern::fuzz {

// What the fuzz targets feed arbitrary bytes to: the parsers that read what
// other processes send or users write. Each must return (no crash, no
// sanitizer report, no hang) whatever the bytes are; the libFuzzer builds
// (scripts/fuzz.sh) and the corpus replay test both call these.

// A Trajectory message from the wire, then the learner's validation.
void Trajectory(std::string_view data);
// A YAML config file, then every check.
void Config(std::string_view data);
// Two NetHack status lines (split at the first newline).
void StatusLines(std::string_view data);
// An LLM server's answer: the first byte picks the classification or ranking
// parser, or the chat or completions response body, for the rest.
void LlmAnswer(std::string_view data);

struct Target {
  const char* name;
  void (*run)(std::string_view data);
};
// The four above, by the names scripts/fuzz.sh and fuzz/corpus/ use.
const std::vector<Target>& Targets();

// Valid inputs to start each corpus from (a serialized trajectory cannot be
// written by hand): name -> file contents.
std::vector<std::pair<std::string, std::string>> Seeds(std::string_view target);

}  // namespace lantern::fuzz
