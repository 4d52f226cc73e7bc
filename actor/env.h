#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lantern::actor {

// Shapes of one observation. Every environment family gives the same three
// parts, so one policy network serves them all:
//   chars   [crop, crop] uint8  egocentric character crop (agent at centre)
//   stats   [num_stats]  float  status vector, roughly in [-5, 5]
//   message [message_len] uint8 the step's message bytes, zero padded
struct ObsSpec {
  int crop = 0;
  int num_stats = 0;
  int message_len = 0;
};

// Caller-owned buffers that Observe() fills; sizes follow ObsSpec.
struct ObsView {
  uint8_t* chars = nullptr;
  float* stats = nullptr;
  uint8_t* message = nullptr;
};

// The longest caption an Env may print: the learner rejects a trajectory
// with a longer one (TrajectorySpec::max_caption_bytes).
inline constexpr int kMaxCaptionBytes = 1024;

struct StepResult {
  float reward = 0.0f;
  bool done = false;     // the episode ended with this step
  bool success = false;  // the episode ended by completing the task
};

// A picture of the whole environment, for replays: `rows` x `cols`
// characters, row-major, and a foreground colour 0-15 per cell (the eight
// ANSI colours, +8 bright; 7 is the terminal's default).
struct Frame {
  int rows = 0;
  int cols = 0;
  std::string chars;
  std::vector<uint8_t> colours;
};

// One environment instance. Not thread-safe: one thread owns an Env.
class Env {
 public:
  virtual ~Env() = default;

  virtual ObsSpec Spec() const = 0;
  virtual int NumActions() const = 0;

  // Starts a new episode. Deterministic given the seed passed to the
  // environment's constructor and the number of resets so far.
  virtual void Reset() = 0;

  // Applies one action (0 <= action < NumActions()). After a step with
  // done = true the caller must Reset() before stepping again.
  virtual StepResult Step(int action) = 0;

  // Optional: starts `action` without waiting for it, so that an env that
  // runs elsewhere (a game process) works while the caller starts others.
  // Step(action) must follow, with the same action, before anything else.
  // Results are the same as without it. The default does nothing.
  virtual void Prepare(int action) { (void)action; }

  // Writes the current observation into `out`.
  virtual void Observe(const ObsView& out) const = 0;

  // The message printed by the last Step() or Reset(), without padding;
  // empty when nothing was printed; at most kMaxCaptionBytes. Valid until
  // the next Step()/Reset().
  virtual std::string_view Caption() const = 0;

  // The current state as a picture (replays). The default is the
  // observation's character crop.
  virtual Frame Render() const {
    const ObsSpec s = Spec();
    Frame f{s.crop, s.crop, std::string(size_t(s.crop * s.crop), ' '),
            std::vector<uint8_t>(size_t(s.crop * s.crop), 7)};
    std::vector<float> stats(size_t(s.num_stats));
    std::vector<uint8_t> message(size_t(s.message_len));
    Observe({reinterpret_cast<uint8_t*>(f.chars.data()), stats.data(),
             message.data()});
    return f;
  }
};

}  // namespace lantern::actor
