#include "actor/envs/nethack/screen.h"

#include <vterm.h>

namespace lantern::actor::nethack {

// libvterm's callbacks, with access to Screen's state.
struct ScreenCallbacks {
  static int Damage(VTermRect rect, void* user) {
    auto* s = static_cast<Screen*>(user);
    for (int r = rect.start_row; r < rect.end_row && r < Screen::kRows; ++r) {
      s->dirty_ |= 1u << r;
    }
    return 1;
  }
  static int MoveCursor(VTermPos pos, VTermPos, int, void* user) {
    auto* s = static_cast<Screen*>(user);
    s->cursor_row_ = pos.row;
    s->cursor_col_ = pos.col;
    return 1;
  }
  static constexpr VTermScreenCallbacks kTable = {
      .damage = Damage,
      .moverect = nullptr,
      .movecursor = MoveCursor,
      .settermprop = nullptr,
      .bell = nullptr,
      .resize = nullptr,
      .sb_pushline = nullptr,
      .sb_popline = nullptr,
  };
};

Screen::Screen() : vt_(vterm_new(kRows, kCols)) {
  vterm_set_utf8(vt_, 1);
  vts_ = vterm_obtain_screen(vt_);
  vterm_screen_set_callbacks(vts_, &ScreenCallbacks::kTable, this);
  Reset();
}

Screen::~Screen() { vterm_free(vt_); }

void Screen::Feed(const char* bytes, size_t n) {
  vterm_input_write(vt_, bytes, n);
}

void Screen::Reset() {
  vterm_screen_reset(vts_, /*hard=*/1);
  cursor_row_ = 0;
  cursor_col_ = 0;
  chars_.fill(' ');
  colours_.fill(7);
  dirty_ = 0;
}

void Screen::Sync() const {
  while (dirty_ != 0) {
    const int r = __builtin_ctz(dirty_);
    dirty_ &= dirty_ - 1;
    VTermScreenCell cell;
    for (int c = 0; c < kCols; ++c) {
      vterm_screen_get_cell(vts_, VTermPos{.row = r, .col = c}, &cell);
      const uint32_t ch = cell.chars[0];
      chars_[r * kCols + c] = ch == 0 ? ' ' : (ch < 128 ? char(ch) : '?');
      uint8_t colour = 7;
      if (VTERM_COLOR_IS_INDEXED(&cell.fg) &&
          !VTERM_COLOR_IS_DEFAULT_FG(&cell.fg)) {
        colour = cell.fg.indexed.idx & 15;
        if (cell.attrs.bold && colour < 8) colour += 8;
      }
      colours_[r * kCols + c] = colour;
    }
  }
}

}  // namespace lantern::actor::nethack
