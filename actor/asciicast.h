#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "actor/env.h"

namespace lantern::actor {

// A terminal recording in asciicast v2, the format asciinema plays: a JSON
// header line (version, width, height, timestamp, title), then one line
// [seconds, "o", text] per frame, each frame redrawing the screen with ANSI
// colours. Not thread-safe.
class Asciicast {
 public:
  // Creates `path` and writes the header for a `width` x `height` terminal.
  // INTERNAL naming the path if it cannot be written.
  static absl::StatusOr<std::unique_ptr<Asciicast>> Create(
      const std::string& path, int width, int height, const std::string& title);
  ~Asciicast();

  // Appends `frame` with `lines` of text below it, shown at `time_s`.
  absl::Status Show(double time_s, const Frame& frame,
                    const std::vector<std::string>& lines);

 private:
  Asciicast(std::string path, std::FILE* file, int width)
      : path_(std::move(path)), file_(file), width_(width) {}

  const std::string path_;
  std::FILE* const file_;
  const int width_;
};

// The text that redraws a terminal with `frame` and `lines` (clear, home,
// rows with SGR colour changes, each line cut to `width`).
std::string AnsiFrame(const Frame& frame, const std::vector<std::string>& lines,
                      int width);

}  // namespace lantern::actor
