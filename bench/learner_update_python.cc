// Lantern's update step against the same update in Python PyTorch
// (bench/learner_update.py: same network, loss, optimiser and batch, run
// with Debian's /usr/bin/python3), in the same run: bench_learner_update and
// the Python script alternate, `rounds` times each, at a small batch (B=32)
// and a large one (B=256), T=32, one thread.
//
//   bench_learner_update_python [--seconds S] [--rounds R]
//                               [--conv C1,C2,...|none] [--threads N]
//
// Prints each run, then, as its last line, one JSON object with both sides'
// median samples/s and the ratios Lantern / PyTorch:
// {"name":"learner_update_python","cpp_small":...,"python_small":...,
//  "ratio_small":...,"cpp_large":...,"python_large":...,"ratio_large":...}
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "testing/local.h"

namespace {

// Runs `command`; its last output line parsed as JSON (null on failure).
nlohmann::json LastJsonLine(const std::string& command) {
  std::string out;
  const int status = lantern::testing::RunCommand(command, &out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const std::string last = out.substr(out.rfind('\n') + 1);
  if (status != 0) {
    std::fprintf(stderr, "failed: %s\n%s\n", command.c_str(), out.c_str());
    return nullptr;
  }
  return nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  int rounds = 2;
  int threads = 1;
  std::string conv;
  lantern::bench::Flags flags(argc, argv,
                              "bench_learner_update_python [--seconds S] "
                              "[--rounds R] [--conv C1,C2,...|none] "
                              "[--threads N]");
  flags.Get("--seconds", &seconds);
  flags.Get("--rounds", &rounds);
  flags.Get("--threads", &threads);
  flags.Get("--conv", &conv);
  flags.Done(seconds > 0 && rounds > 0 && threads > 0);

  std::string common = " --unroll 32 --seconds " + std::to_string(seconds) +
                       " --threads " + std::to_string(threads);
  if (!conv.empty()) common += " --conv " + conv;
  const std::string cpp =
      std::string(LANTERN_BIN_DIR) + "/bench_learner_update";
  const std::string python = std::string("/usr/bin/python3 ") +
                             LANTERN_SOURCE_DIR + "/bench/learner_update.py";
  nlohmann::json result = {{"name", "learner_update_python"},
                           {"unroll", 32},
                           {"threads", threads},
                           {"rounds", rounds},
                           {"conv", conv.empty() ? "default" : conv}};
  for (const auto& [size, batch] :
       {std::pair<const char*, int>{"small", 32}, {"large", 256}}) {
    std::vector<double> samples[2];  // C++, Python
    for (int r = 0; r < rounds; ++r) {
      // Alternate which side goes first, so drift hits both alike.
      for (int k = 0; k < 2; ++k) {
        const int side = (r + k) % 2;
        const std::string command = (side == 0 ? cpp : python) + " --batch " +
                                    std::to_string(batch) + common;
        const nlohmann::json j = LastJsonLine(command);
        if (!j.is_object() || !j.contains("samples_per_s")) return 1;
        samples[side].push_back(j["samples_per_s"].get<double>());
        std::printf("%s B=%d round %d: %.1f samples/s\n",
                    side == 0 ? "lantern" : "pytorch", batch, r,
                    samples[side].back());
        std::fflush(stdout);
      }
    }
    const double c = Median(samples[0]), p = Median(samples[1]);
    result[std::string("cpp_") + size] = c;
    result[std::string("python_") + size] = p;
    result[std::string("ratio_") + size] = c / p;
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
}
