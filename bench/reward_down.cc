// Learner throughput with the reward server down against a run without a
// reward model, same config otherwise, in the same invocation: real
// lantern-learner and lantern-actor processes on 127.0.0.1 train
// configs/sparse_oni.yaml for a fixed number of env steps; "down" runs have
// reward.model_kind=classification and a reward server address where
// nothing listens (the learner forwards nothing, r_int stays 0), "none"
// runs have reward.model_kind=none. Runs alternate (none, down, none,
// down, ...) so that drift in the machine's load hits both alike.
//
//   bench_reward_down [--steps N] [--rounds R]
//
// Last line: {"name":"reward_down","none_steps_per_s":...,
// "down_steps_per_s":...,"ratio":...}
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/flags.h"
#include "cli/process.h"
#include "common/files.h"

namespace {

using lantern::cli::Process;

// One run; its env_steps_per_s from summary.json, or -1.
double Run(const std::string& dir, const std::string& name, int64_t steps,
           bool down) {
  const std::string bin = LANTERN_BIN_DIR;
  const std::string config =
      std::string(LANTERN_SOURCE_DIR) + "/configs/sparse_oni.yaml";
  std::vector<std::string> sets = {
      "run.dir=" + dir,
      "run.name=" + name,
      absl::StrCat("run.max_env_steps=", steps),
      "run.max_wall_s=0",
      "run.target_success_rate=0",
      down ? "reward.model_kind=classification" : "reward.model_kind=none"};
  auto args = [&](const std::string& binary) {
    std::vector<std::string> argv = {bin + "/" + binary, "--config", config};
    for (const std::string& s : sets) {
      argv.push_back("--set");
      argv.push_back(s);
    }
    return argv;
  };
  std::vector<std::string> learner_argv = args("lantern-learner");
  if (down) {
    learner_argv.push_back("--reward");
    learner_argv.push_back("127.0.0.1:1");  // nothing listens there
  }
  absl::StatusOr<Process> learner = Process::Start(learner_argv, true);
  if (!learner.ok()) return -1;
  const std::string addr_file = dir + "/" + name + "/learner.addr";
  std::string address;
  while (address.empty() && !learner->Poll().has_value()) {
    absl::StatusOr<std::string> a = lantern::common::ReadFile(addr_file);
    if (a.ok() && !a->empty() && a->back() == '\n') {
      address = a->substr(0, a->size() - 1);
    } else {
      usleep(20000);
    }
  }
  std::vector<Process> actors;
  for (int i = 0; i < 2 && !address.empty(); ++i) {
    std::vector<std::string> argv = args("lantern-actor");
    for (std::string a : {std::string("--learner"), address,
                          std::string("--index"), std::to_string(i)}) {
      argv.push_back(a);
    }
    absl::StatusOr<Process> p = Process::Start(argv, true);
    if (p.ok()) actors.push_back(*p);
  }
  const int code = learner->Wait();
  for (Process& a : actors) {
    a.Signal(SIGTERM);
    a.Wait();
  }
  absl::StatusOr<std::string> text =
      lantern::common::ReadFile(dir + "/" + name + "/summary.json");
  if (code != 0 || !text.ok()) return -1;
  return nlohmann::json::parse(*text)["env_steps_per_s"].get<double>();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 400000;
  int rounds = 2;
  lantern::bench::Flags flags(argc, argv,
                              "bench_reward_down [--steps N] [--rounds R]", {});
  flags.Get("--steps", &steps);
  flags.Get("--rounds", &rounds);
  flags.Done(steps > 0 && rounds > 0);
  const std::string dir = absl::StrCat("/tmp/lantern_bench_down_", ::getpid());
  double none = 0, down = 0;
  for (int r = 0; r < rounds; ++r) {
    const double a = Run(dir, absl::StrCat("none", r), steps, false);
    const double b = Run(dir, absl::StrCat("down", r), steps, true);
    if (a <= 0 || b <= 0) {
      std::fprintf(stderr, "a run failed; see %s\n", dir.c_str());
      return 1;
    }
    std::printf("round %d: none %.0f steps/s, reward server down %.0f\n", r, a,
                b);
    none += a / rounds;
    down += b / rounds;
  }
  std::filesystem::remove_all(dir);
  std::printf(
      "{\"name\":\"reward_down\",\"steps\":%lld,\"rounds\":%d,"
      "\"none_steps_per_s\":%.0f,\"down_steps_per_s\":%.0f,\"ratio\":%.3f}\n",
      static_cast<long long>(steps), rounds, none, down, down / none);
  return 0;
}
