// Steps one GridEnv on one thread with random actions, observing every step,
// and reports steps per second. Usage: bench_env_grid [--seconds S]
// The last line of output is one JSON object (see bench/CMakeLists.txt).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "actor/envs/grid/grid_env.h"
#include "bench/flags.h"

namespace {

// xorshift64: one draw costs a few cycles, so the loop measures the env.
uint64_t NextRandom(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  lantern::bench::Flags flags(argc, argv, "bench_env_grid [--seconds S]");
  flags.Get("--seconds", &seconds);
  flags.Done(seconds > 0.0);

  lantern::actor::GridOptions options;  // The quickstart options.
  options.width = 8;
  options.height = 6;
  options.crop = 9;
  options.message_len = 64;
  options.max_steps = 100;
  options.dense = true;
  options.layout = "key_door";
  options.distractor_prob = 0.05;
  lantern::actor::GridEnv env(options, /*seed=*/1);

  const lantern::actor::ObsSpec spec = env.Spec();
  std::vector<uint8_t> chars(spec.crop * spec.crop);
  std::vector<float> stats(spec.num_stats);
  std::vector<uint8_t> message(spec.message_len);
  const lantern::actor::ObsView view{chars.data(), stats.data(),
                                     message.data()};

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(seconds));
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  uint64_t steps = 0;
  uint64_t episodes = 0;
  uint64_t successes = 0;
  uint64_t checksum = 0;  // Keeps the observation writes live.
  env.Observe(view);
  // Check the clock every 4096 steps: reading it costs about as much as a step.
  for (bool running = true; running; running = Clock::now() < deadline) {
    for (int i = 0; i < 4096; ++i) {
      const int action = static_cast<int>((NextRandom(rng) >> 32) % 5);
      const lantern::actor::StepResult result = env.Step(action);
      ++steps;
      if (result.done) {
        ++episodes;
        successes += result.success ? 1 : 0;
        env.Reset();
      }
      env.Observe(view);
      checksum += chars[spec.crop * spec.crop / 2 + 1] + message[0];
    }
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  const double steps_per_s = static_cast<double>(steps) / elapsed;

  std::printf("steps %llu in %.3f s, episodes %llu (%llu solved), check %llu\n",
              static_cast<unsigned long long>(steps), elapsed,
              static_cast<unsigned long long>(episodes),
              static_cast<unsigned long long>(successes),
              static_cast<unsigned long long>(checksum));
  std::printf(
      "{\"name\":\"env_grid\",\"steps_per_s\":%.0f,\"episodes\":%llu,"
      "\"seconds\":%.3f}\n",
      steps_per_s, static_cast<unsigned long long>(episodes), elapsed);
  return 0;
}
