#include "actor/envs/nethack/task.h"

#include <algorithm>

namespace lantern::actor::nethack {

bool Task::Parse(std::string_view name, Kind* kind) {
  if (name == "score") {
    *kind = Kind::kScore;
  } else if (name == "gold") {
    *kind = Kind::kGold;
  } else if (name == "staircase") {
    *kind = Kind::kStaircase;
  } else if (name == "oracle") {
    *kind = Kind::kOracle;
  } else {
    return false;
  }
  return true;
}

void Task::Begin(const Status& status) {
  deepest_ = std::max(1, status.depth);
  score_ = ScoreOf(status);
  gold_ = status.gold;
}

int64_t Task::ScoreOf(const Status& s) const {
  const int64_t deep = deepest_ > 20 ? 1000 * std::min(deepest_ - 20, 10) : 0;
  return s.gold + 4 * s.experience + 50 * int64_t(deepest_ - 1) + deep;
}

float Task::Step(const Status& status, std::string_view message, bool* done) {
  *done = false;
  deepest_ = std::max(deepest_, status.depth);
  const int64_t score = ScoreOf(status);
  const int64_t gold = status.gold;
  float reward = 0;
  switch (kind_) {
    case Kind::kScore:
      reward = float(score - score_);
      break;
    case Kind::kGold:
      reward = float(gold - gold_);
      break;
    case Kind::kStaircase:
      *done = status.depth >= target_depth_;
      break;
    case Kind::kOracle:
      *done = message.find("Oracle") != std::string_view::npos;
      break;
  }
  if (*done) reward = 1;
  score_ = score;
  gold_ = gold;
  return reward;
}

}  // namespace lantern::actor::nethack
