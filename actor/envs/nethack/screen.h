#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

struct VTerm;
struct VTermScreen;

namespace lantern::actor::nethack {

// A 24x80 terminal emulated by libvterm: the bytes the game writes go in,
// characters, colours and the cursor come out. Only the rows libvterm reports
// as changed are read back, so a step that redraws a few cells costs little.
// Not thread-safe; not copyable.
class Screen {
 public:
  static constexpr int kRows = 24;
  static constexpr int kCols = 80;

  Screen();
  ~Screen();
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  // Interprets terminal output (escape sequences included).
  void Feed(const char* bytes, size_t n);

  // Clears the screen and the terminal's state (a new game starts).
  void Reset();

  // Row r's characters (kCols of them, blanks included). Characters outside
  // ASCII read as '?'.
  std::string_view Row(int r) const {
    Sync();
    return std::string_view(chars_.data() + r * kCols, kCols);
  }
  char At(int r, int c) const { return Row(r)[size_t(c)]; }

  // Foreground colour of each cell, 0-15 (the 8 ANSI colours, +8 when bold;
  // the terminal's default is 7). Row-major, kRows * kCols.
  const std::array<uint8_t, kRows * kCols>& colours() const {
    Sync();
    return colours_;
  }
  const std::array<char, kRows * kCols>& chars() const {
    Sync();
    return chars_;
  }

  int cursor_row() const { return cursor_row_; }
  int cursor_col() const { return cursor_col_; }

 private:
  friend struct ScreenCallbacks;
  void Sync() const;

  VTerm* vt_;
  VTermScreen* vts_;
  int cursor_row_ = 0;
  int cursor_col_ = 0;
  mutable uint32_t dirty_ = 0;  // bit r: row r changed since the last Sync()
  mutable std::array<char, kRows * kCols> chars_;
  mutable std::array<uint8_t, kRows * kCols> colours_;
};

}  // namespace lantern::actor::nethack
