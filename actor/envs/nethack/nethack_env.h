#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "actor/env.h"
#include "actor/envs/nethack/actions.h"
#include "actor/envs/nethack/playground.h"
#include "actor/envs/nethack/pty_game.h"
#include "actor/envs/nethack/screen.h"
#include "actor/envs/nethack/status.h"
#include "actor/envs/nethack/task.h"

namespace lantern::actor::nethack {

// Options of the NetHack family (config keys env.*; see README).
struct NethackOptions {
  std::string task = "staircase";  // score | gold | staircase | oracle
  int crop = 9;                    // side of the egocentric crop; odd
  int message_len = 256;           // bytes of the message observation
  int max_steps = 5000;            // steps after which the episode ends
  int target_depth = 2;            // staircase: success on reaching it
  std::string character = "val-hum-fem-neu";  // role-race-gender-alignment
  std::string binary = "/usr/lib/games/nethack/nethack-console";
  std::string dir;   // parent of the playgrounds; "" = $TMPDIR or /tmp
  std::string shim;  // preload shim; "" = next to this executable
  Completion completion = Completion::kShim;
  int step_timeout_ms = 2000;  // no completion within it: a wedge
};

// The real NetHack 3.6 (Debian's unmodified nethack-console) as an Env: the
// game runs as a child process in a 24x80 pseudo-terminal, libvterm keeps
// its screen, and each step sends one action's keys and waits until the
// game blocks reading the terminal again (see PtyGame).
//
// Observation (the grid family's three parts, so one network serves both):
//   chars   crop x crop characters of the map (rows 1-21) centred on the
//           hero (the cursor, where the game leaves it); ' ' off the map
//   stats   kNumStats floats from the status lines (see StatsVector)
//   message the step's messages: every --More-- page and the final top line,
//           joined with single spaces (NLE's `message`), zero padded
// The whole 24x80 screen with colours and the cursor is screen().
//
// Actions and the questions they answer: see actions.h. Every step ends with
// the game waiting for a command (or for the direction a move will give).
//
// Tasks: see Task. The episode ends on death, on task end, on a wedge or
// after max_steps.
//
// Games are seeded (NH_SEED, NH_TIME through the shim): episode k of an env
// built with seed s replays exactly. Without the shim (completion kProc)
// games are not seedable. Not thread-safe; the thread that builds or resets
// the env must outlive its games (they die with it: PR_SET_PDEATHSIG).
class NethackEnv final : public Env {
 public:
  static constexpr int kNumActions = nethack::kNumActions;
  static constexpr int kNumStats = 18 + kNumConditions;
  static constexpr int kMaxCrop = 31;
  static constexpr int kMaxMessageLen = kMaxCaptionBytes;

  // Validates `options`, makes the playground and starts the first game.
  // Throws std::invalid_argument for bad options and std::runtime_error when
  // the game cannot start (the message quotes the screen's top line).
  NethackEnv(const NethackOptions& options, uint64_t seed);
  ~NethackEnv() override;

  // "" when `options` can work, else every problem joined with "; ".
  static std::string Validate(const NethackOptions& options);

  ObsSpec Spec() const override;
  int NumActions() const override { return kNumActions; }
  void Reset() override;
  StepResult Step(int action) override;
  // Sends the action's first key; Step() then waits for it.
  void Prepare(int action) override;
  void Observe(const ObsView& out) const override;
  std::string_view Caption() const override { return message_; }

  // Sends raw keys as one step (each key waits for the game; prompts are not
  // answered, --More-- is), e.g. "#quit\ry". For tools and tests.
  StepResult StepKeys(std::string_view keys);

  const Screen& screen() const { return screen_; }
  // The 24x80 screen with its colours.
  Frame Render() const override;
  const Status& status() const { return status_; }
  pid_t game_pid() const { return game_.pid(); }
  const std::string& playground_dir() const { return playground_->dir(); }
  // Steps that got no completion within step_timeout_ms since construction.
  int64_t wedges() const { return wedges_; }

  // The stats vector of a status, each entry roughly in [-5, 5]: strength ..
  // charisma / 25, depth / 10, log1p(gold) / 5, HP / max HP, max HP / 100,
  // power / max power, max power / 100, AC / 10, level / 10,
  // log1p(experience) / 5, log1p(time) / 10, hunger / 2, encumbrance / 2,
  // then one 0/1 entry per Condition bit.
  static void StatsVector(const Status& status, float* out);

 private:
  void StartGame();
  // Sends one key and waits; false when the game ended or wedged.
  bool Press(char key);
  // Waits for the key already sent; false when the game ended or wedged.
  bool Await();
  // Handles --More--, menus and prompts until the game waits for a command.
  // `action` picks the expected answers (-1: only --More--).
  void Settle(int action);
  void AddMessage(std::string_view text);
  // Sends `keys` (Press), settles the questions `action` asked (-1: none)
  // and finishes the step. Done episodes stay done.
  StepResult Play(std::string_view keys, int action);
  // Parses the status lines and follows the hero; false when they are not
  // on the screen.
  bool ReadStatus();
  StepResult Finish();
  // Validates (throws std::invalid_argument) and parses the task.
  static Task::Kind TaskKind(const NethackOptions& options);

  NethackOptions options_;
  uint64_t seed_;
  Task task_;
  std::unique_ptr<Playground> playground_;
  PtyGame game_;
  Screen screen_;

  uint64_t episode_ = 0;
  int steps_ = 0;
  bool over_ = false;  // the game exited or wedged this episode
  bool done_ = false;
  Status status_;
  int hero_row_ = 1;
  int hero_col_ = 0;
  std::string message_;
  int64_t wedges_ = 0;
  int prepared_ = -1;  // the action whose first key Prepare() sent
};

}  // namespace lantern::actor::nethack
