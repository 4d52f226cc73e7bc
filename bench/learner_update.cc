// Times Updater::Step on random batches of a quickstart-sized model.
//
//   bench_learner_update [--device cpu|cuda] [--batch B] [--unroll T]
//                        [--seconds S] [--threads N] [--rnn]
//                        [--conv C1,C2,...|none]
//
// Prints the configuration, then, as its last line, one JSON object:
// {"name":"learner_update","device":"cpu","batch":32,"unroll":32,
//  "samples_per_s":...,"updates_per_s":...,"threads":1}
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "learner/core/malloc_tuning.h"
#include "learner/core/random_batch.h"
#include "learner/core/updater.h"

namespace {

struct Args {
  std::string device = "cpu";
  int64_t batch = 32;
  int64_t unroll = 32;
  double seconds = 3.0;
  int threads = 1;
  bool rnn = false;
  std::vector<int> conv = {32, 32};
};

Args Parse(int argc, char** argv) {
  Args args;
  lantern::bench::Flags flags(
      argc, argv,
      "bench_learner_update [--device cpu|cuda] [--batch B] "
      "[--unroll T] [--seconds S] [--threads N] [--rnn] "
      "[--conv C1,C2,...|none]",
      {"--rnn"});
  flags.Get("--device", &args.device);
  flags.Get("--batch", &args.batch);
  flags.Get("--unroll", &args.unroll);
  flags.Get("--seconds", &args.seconds);
  flags.Get("--threads", &args.threads);
  args.rnn = flags.Has("--rnn");
  std::string conv;
  flags.Get("--conv", &conv);
  if (!conv.empty()) {
    args.conv.clear();
    std::stringstream stream(conv == "none" ? "" : conv);
    for (std::string item; std::getline(stream, item, ',');) {
      args.conv.push_back(std::atoi(item.c_str()));
    }
  }
  flags.Done((args.device == "cpu" || args.device == "cuda") &&
             args.batch > 0 && args.unroll > 0 && args.seconds > 0 &&
             args.threads > 0);
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  lantern::core::KeepFreedMemory();  // as the learner does
  const Args args = Parse(argc, argv);
  torch::set_num_threads(args.threads);
  if (args.device == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "CUDA is not available\n");
    return 1;
  }
  const torch::Device device =
      args.device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::kCPU;

  lantern::core::ModelOptions model;  // the quickstart-sized defaults
  model.use_rnn = args.rnn;
  model.conv_channels = args.conv;
  std::string convs;
  for (int c : model.conv_channels) {
    convs += (convs.empty() ? "" : ",") + std::to_string(c);
  }
  std::printf(
      "config: crop=%d num_stats=%d message_len=%d num_actions=%d "
      "char_embedding=%d conv_channels={%s} hidden=%d stats_hidden=%d "
      "message_hidden=%d use_rnn=%d rnn_hidden=%d\n",
      model.crop, model.num_stats, model.message_len, model.num_actions,
      model.char_embedding, convs.c_str(), model.hidden, model.stats_hidden,
      model.message_hidden, model.use_rnn ? 1 : 0, model.rnn_hidden);

  torch::manual_seed(0);
  lantern::core::Updater updater(model, lantern::core::UpdateOptions(), device);
  int64_t parameters = 0;
  for (const auto& p : updater.model()->parameters()) parameters += p.numel();
  std::printf("parameters=%lld device=%s batch=%lld unroll=%lld threads=%d\n",
              static_cast<long long>(parameters), args.device.c_str(),
              static_cast<long long>(args.batch),
              static_cast<long long>(args.unroll), args.threads);

  // Batches arrive on the CPU, as from the learner's queue; Step moves them.
  const lantern::core::Batch batch =
      lantern::core::RandomBatch(model, args.unroll, args.batch);
  using Clock = std::chrono::steady_clock;
  const auto warmup_end = Clock::now() + std::chrono::milliseconds(500);
  int warmup = 0;
  while (warmup < 3 || Clock::now() < warmup_end) {
    updater.Step(batch);
    ++warmup;
  }

  const auto start = Clock::now();
  int64_t updates = 0;
  double elapsed = 0;
  double loss = 0;
  while (elapsed < args.seconds) {
    loss = updater.Step(batch).total_loss;  // Step syncs: timing is honest
    ++updates;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  const double updates_per_s = updates / elapsed;
  std::printf("updates=%lld seconds=%.3f ms_per_update=%.2f last_loss=%.4f\n",
              static_cast<long long>(updates), elapsed,
              1000.0 * elapsed / updates, loss);
  std::printf(
      "{\"name\":\"learner_update\",\"device\":\"%s\",\"batch\":%lld,"
      "\"unroll\":%lld,\"samples_per_s\":%.1f,\"updates_per_s\":%.3f,"
      "\"threads\":%d}\n",
      args.device.c_str(), static_cast<long long>(args.batch),
      static_cast<long long>(args.unroll),
      updates_per_s * static_cast<double>(args.batch * args.unroll),
      updates_per_s, args.threads);
  return 0;
}
