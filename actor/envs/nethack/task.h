#pragma once

#include <cstdint>
#include <string_view>

#include "actor/envs/nethack/status.h"

namespace lantern::actor::nethack {

// A NetHack task's reward, from what the status lines and messages show.
//   score      the change of the in-game score as botl_score() computes it
//              from the visible parts: gold + 4 x experience points +
//              50 x (deepest level - 1) + 1000 per level below 20 (at most
//              10); kills score through their experience points
//   gold       the change of gold
//   staircase  1 on first reaching Dlvl target_depth; the task ends there
//   oracle     1 when a message names the Oracle (bumping into her asks
//              "Really attack the Oracle?"); the task ends there
class Task {
 public:
  enum class Kind { kScore, kGold, kStaircase, kOracle };

  // False when `name` is none of score, gold, staircase, oracle.
  static bool Parse(std::string_view name, Kind* kind);

  Task(Kind kind, int target_depth)
      : kind_(kind), target_depth_(target_depth) {}

  // A new game starts showing `status`.
  void Begin(const Status& status);

  // The reward of a step after which the game shows `status` and printed
  // `message`; sets *done when the task is complete.
  float Step(const Status& status, std::string_view message, bool* done);

  // The score estimate of the last status seen.
  int64_t score() const { return score_; }

 private:
  int64_t ScoreOf(const Status& status) const;

  Kind kind_;
  int target_depth_;
  int deepest_ = 1;
  int64_t score_ = 0;
  int64_t gold_ = 0;
};

}  // namespace lantern::actor::nethack
