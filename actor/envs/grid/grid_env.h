#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actor/env.h"

namespace lantern::actor {

// Options of the grid family. GridEnv's constructor rejects values that
// cannot produce a layout (see GridEnv::Validate for the exact ranges).
struct GridOptions {
  int width = 8;         // interior floor columns (walls not counted)
  int height = 6;        // interior floor rows (walls not counted)
  int crop = 9;          // side of the egocentric character crop; odd
  int message_len = 64;  // bytes of the message observation
  int max_steps = 100;   // steps after which the episode ends without success
  bool dense = true;     // key and door rewards on top of the stairs reward
  std::string layout = "key_door";  // "key_door" or "open"
  double distractor_prob = 0.05;    // chance of a noise message per quiet step
};

// A small NetHack-flavoured roguelike room.
//
// Map characters: '-' top and bottom walls, '|' side walls and the splitting
// wall, '.' floor, '@' the agent, '(' the key, '+' a locked door, '\'' an
// open door (the Crawl/Brogue glyph: NetHack's own '-' would look like a
// wall in the crop), '>' the stairs, ' ' outside the map.
//
// Layout "key_door": a vertical wall splits the interior into a left and a
// right room (each at least two columns wide) with one locked door; the agent
// and the key start in the left room, the stairs are in the right room.
// Layout "open": one room with the agent and the stairs.
//
// Actions: 0 north, 1 east, 2 south, 3 west, 4 wait (search).
//
// Stats vector (kNumStats floats, each in [0, 1]):
//   0 has_key     1 while the agent carries the key
//   1 door_open   1 once the door is unlocked (always 0 in "open")
//   2 x           (column - 1) / (width - 1), 0 at the left interior column
//   3 y           (row - 1) / (height - 1), 0 at the top interior row
//   4 time        steps taken / max_steps
//
// Captions join the step's sentences with one space: first the action's
// event ("You pick up the key.", "The door is locked.", "You unlock the
// door.", "You climb down the stairs."), then "You see a key.", "You see a
// door.", "You see a staircase." (each once per episode, when that object's
// character first appears in the crop). A step with no other sentence prints
// a distractor with probability distractor_prob.
//
// Deterministic: episode k's layout depends only on the options, the seed and
// k; its captions also depend on the actions taken. Step() and Observe() do
// not allocate. Not thread-safe (see Env).
class GridEnv final : public Env {
 public:
  static constexpr int kNumActions = 5;
  static constexpr int kNumStats = 5;
  static constexpr int kMinWidthKeyDoor = 5;
  static constexpr int kMinSide = 2;
  static constexpr int kMaxSide = 255;
  static constexpr int kMaxCrop = 255;
  static constexpr int kMaxMessageLen = 4096;
  static constexpr char kOpenDoor = '\'';

  // Validates `options` and starts the first episode (Reset()). Throws
  // std::invalid_argument listing every out-of-range option.
  GridEnv(const GridOptions& options, uint64_t seed);

  // Returns "" when `options` can produce a layout, else a message naming
  // each invalid field, joined with "; ".
  static std::string Validate(const GridOptions& options);

  ObsSpec Spec() const override;
  int NumActions() const override { return kNumActions; }

  // Draws a new layout and prints the "You see ..." sentences for what the
  // first crop shows.
  void Reset() override;

  // Applies `action`. Throws std::out_of_range unless 0 <= action < 5. After
  // the episode ended it changes nothing and returns done again.
  StepResult Step(int action) override;

  // Writes the crop, the stats and the zero-padded caption into `out`.
  void Observe(const ObsView& out) const override;

  std::string_view Caption() const override {
    return std::string_view(caption_.data(), caption_len_);
  }

  // The whole map, walls included, with the agent as '@' (yellow), the key,
  // the door and the stairs in colour.
  Frame Render() const override;

 private:
  // splitmix64: a full 64-bit mix per draw, seeded per episode.
  struct Rng {
    uint64_t state = 0;
    uint64_t Next() {
      uint64_t z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return z ^ (z >> 31);
    }
    // Uniform in [0, n) for 0 < n < 2^32 (Lemire's multiply-shift).
    int Below(int n) {
      return static_cast<int>(((Next() >> 32) * static_cast<uint64_t>(n)) >>
                              32);
    }
  };

  struct Pos {
    int x = 0;
    int y = 0;
  };

  char& At(int x, int y) { return map_[y * stride_ + x]; }
  char At(int x, int y) const { return map_[y * stride_ + x]; }
  Pos RandomCell(int x0, int x1, int y0, int y1);
  bool InCrop(Pos p) const;
  void NoteSights();
  void Say(std::string_view sentence);

  // Options, fixed for the env's lifetime.
  int width_;
  int height_;
  int crop_;
  int message_len_;
  int max_steps_;
  bool dense_;
  bool key_door_;
  uint64_t distractor_threshold_;  // distractor when draw >> 11 < this
  uint64_t seed_;

  // Map of (width + 2) x (height + 2) cells, walls included; row-major.
  int stride_;
  std::vector<char> map_;

  // Episode state.
  uint64_t episode_ = 0;
  Rng rng_;
  Pos agent_;
  Pos key_;
  Pos door_;
  Pos stairs_;
  int steps_ = 0;
  bool has_key_ = false;
  bool door_open_ = false;
  bool done_ = false;
  bool success_ = false;
  bool seen_key_ = false;
  bool seen_door_ = false;
  bool seen_stairs_ = false;

  static constexpr int kMaxCaption = 256;
  std::array<char, kMaxCaption> caption_{};
  int caption_len_ = 0;
};

}  // namespace lantern::actor
