// Steps one NethackEnv (the real game in a pseudo-terminal) with random
// actions, observing every step, pinned with its game to one core, and
// reports:
//   steps_per_s           env steps per second, game included
//   cpu_us_per_step       this process's CPU per step (the driver: pty,
//                         libvterm, parsing, observation), resets included
//   game_cpu_us_per_step  the games' CPU per step (reaped games only)
//   reset_ms_median/p99   Reset(): kill, clean, start, reach the first turn
//   wedges                steps with no completion within 2 s
// With --envs N > 1 it steps N envs as an actor does (every env's action
// started with Prepare(), then each collected; --no-prepare steps them one
// after another) on every core, and steps_per_s counts all of them.
// Usage: bench_env_nethack [--steps N] [--completion shim|proc] [--cpu K]
//                          [--envs N] [--no-prepare]
// The last line of output is one JSON object (see bench/CMakeLists.txt).

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "actor/envs/nethack/nethack_env.h"
#include "bench/flags.h"

namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[size_t(q * double(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  using lantern::actor::nethack::Completion;
  using lantern::actor::nethack::NethackEnv;
  int64_t steps = 1000000;
  std::string completion = "shim";
  int cpu = -1;
  int num_envs = 1;
  lantern::bench::Flags flags(argc, argv,
                              "bench_env_nethack [--steps N] [--completion "
                              "shim|proc] [--cpu K] [--envs N] [--no-prepare]",
                              {"--no-prepare"});
  flags.Get("--steps", &steps);
  flags.Get("--completion", &completion);
  flags.Get("--cpu", &cpu);
  flags.Get("--envs", &num_envs);
  const bool prepare = !flags.Has("--no-prepare");
  flags.Done(steps > 0 && num_envs >= 1 && num_envs <= 256 &&
             (completion == "shim" || completion == "proc"));

  // One core for the env and its game (children inherit the mask): the
  // figure is per env on one core. Default: the first core we may use.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof allowed, &allowed);
  if (cpu < 0 && num_envs == 1) {
    for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed); ++cpu) {
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (cpu >= 0 && sched_setaffinity(0, sizeof one, &one) != 0) {
    std::fprintf(stderr, "cannot pin to cpu %d\n", cpu);
    return 1;
  }

  lantern::actor::nethack::NethackOptions options;  // staircase, crop 9
  options.completion =
      completion == "proc" ? Completion::kProc : Completion::kShim;
  std::vector<std::unique_ptr<NethackEnv>> envs;
  for (int k = 0; k < num_envs; ++k) {
    envs.push_back(std::make_unique<NethackEnv>(options, /*seed=*/1 + k));
  }
  const lantern::actor::ObsSpec spec = envs[0]->Spec();
  std::vector<uint8_t> chars(size_t(spec.crop * spec.crop));
  std::vector<float> stats(size_t(spec.num_stats));
  std::vector<uint8_t> message(size_t(spec.message_len));
  const lantern::actor::ObsView view{chars.data(), stats.data(),
                                     message.data()};

  std::vector<double> reset_ms;
  std::unordered_set<std::string> messages;
  int64_t episodes = 0, deaths = 0, successes = 0;
  double max_step_ms = 0;
  size_t longest_caption = 0;
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  uint64_t checksum = 0;
  const double cpu0 = CpuSeconds(RUSAGE_SELF);
  const double game_cpu0 = CpuSeconds(RUSAGE_CHILDREN);
  const auto start = Clock::now();
  std::vector<int> actions(static_cast<size_t>(num_envs), 0);
  for (int64_t i = 0; i < steps; i += num_envs) {
    for (int& a : actions) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      a = int((rng >> 33) % NethackEnv::kNumActions);
    }
    if (prepare) {
      for (int k = 0; k < num_envs; ++k) envs[k]->Prepare(actions[k]);
    }
    for (int k = 0; k < num_envs; ++k) {
      NethackEnv& env = *envs[k];
      const auto t0 = Clock::now();
      const auto r = env.Step(actions[k]);
      max_step_ms = std::max(
          max_step_ms,
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      env.Observe(view);
      checksum += chars[chars.size() / 2] + message[0];
      if (messages.size() < 1000000) messages.emplace(env.Caption());
      longest_caption = std::max(longest_caption, env.Caption().size());
      if (r.done) {
        ++episodes;
        successes += r.success;
        deaths += env.Caption().find("You died") != std::string_view::npos;
        const auto t1 = Clock::now();
        env.Reset();
        reset_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t1)
                .count());
      }
    }
  }
  steps = (steps + num_envs - 1) / num_envs * num_envs;
  int64_t wedges = 0;
  for (const auto& env : envs) wedges += env->wedges();
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_us = (CpuSeconds(RUSAGE_SELF) - cpu0) * 1e6 / double(steps);
  const double game_us =
      (CpuSeconds(RUSAGE_CHILDREN) - game_cpu0) * 1e6 / double(steps);

  std::printf(
      "steps %lld in %.1f s on cpu %d, episodes %lld (%lld died, %lld "
      "reached Dlvl 2), distinct messages %zu, slowest step %.1f ms, check "
      "%llu\n",
      (long long)steps, elapsed, cpu, (long long)episodes, (long long)deaths,
      (long long)successes, messages.size(), max_step_ms,
      (unsigned long long)checksum);
  std::printf(
      "{\"name\":\"env_nethack\",\"completion\":\"%s\",\"envs\":%d,"
      "\"prepare\":%s,\"steps\":%lld,"
      "\"steps_per_s\":%.0f,\"cpu_us_per_step\":%.1f,"
      "\"game_cpu_us_per_step\":%.1f,\"reset_ms_median\":%.2f,"
      "\"reset_ms_p99\":%.2f,\"wedges\":%lld,\"episodes\":%lld,"
      "\"distinct_messages\":%zu,\"longest_caption\":%zu,"
      "\"max_step_ms\":%.1f}\n",
      completion.c_str(), num_envs, prepare ? "true" : "false",
      (long long)steps, double(steps) / elapsed, cpu_us, game_us,
      Percentile(reset_ms, 0.5), Percentile(reset_ms, 0.99), (long long)wedges,
      (long long)episodes, messages.size(), longest_caption, max_step_ms);
  return 0;
}
