#include "actor/asciicast.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

namespace lantern::actor {
namespace {

// A JSON string; bytes that are not UTF-8 become U+FFFD rather than an
// exception.
std::string Json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Select Graphic Rendition for colour 0-15: 8-15 as bold, as NetHack's
// curses output does.
std::string Sgr(int colour) {
  return colour >= 8 ? "\x1b[0;1;3" + std::to_string(colour - 8) + "m"
                     : "\x1b[0;3" + std::to_string(colour) + "m";
}

}  // namespace

std::string AnsiFrame(const Frame& frame, const std::vector<std::string>& lines,
                      int width) {
  std::string out = "\x1b[H\x1b[2J";
  for (int r = 0; r < frame.rows; ++r) {
    int current = -1;
    for (int c = 0; c < frame.cols; ++c) {
      const size_t i = size_t(r * frame.cols + c);
      const int colour = i < frame.colours.size() ? frame.colours[i] : 7;
      if (colour != current) {
        out += Sgr(colour);
        current = colour;
      }
      const char ch = frame.chars[i];
      out += (ch >= 32 && ch < 127) ? ch : '?';
    }
    out += "\x1b[0m\r\n";
  }
  for (const std::string& line : lines) {
    out += line.substr(0, size_t(width));
    out += "\r\n";
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Asciicast>> Asciicast::Create(
    const std::string& path, int width, int height, const std::string& title) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::InternalError("cannot create replay " + path + ": " +
                               std::strerror(errno));
  }
  const nlohmann::json header = {
      {"version", 2},
      {"width", width},
      {"height", height},
      {"timestamp", std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()},
      {"title", title},
      {"env", {{"TERM", "xterm-256color"}, {"SHELL", "/bin/sh"}}}};
  std::fprintf(f, "%s\n", Json(header).c_str());
  return std::unique_ptr<Asciicast>(new Asciicast(path, f, width));
}

Asciicast::~Asciicast() { std::fclose(file_); }

absl::Status Asciicast::Show(double time_s, const Frame& frame,
                             const std::vector<std::string>& lines) {
  const nlohmann::json event = {time_s, "o", AnsiFrame(frame, lines, width_)};
  if (std::fprintf(file_, "%s\n", Json(event).c_str()) < 0 ||
      std::fflush(file_) != 0) {
    return absl::InternalError("cannot write replay " + path_ + ": " +
                               std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace lantern::actor
