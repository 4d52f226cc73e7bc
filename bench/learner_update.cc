// Times Updater::Step on random batches.
//
//   bench_learner_update [--device cpu|cuda] [--net grid|nethack]
//                        [--batch B] [--unroll T] [--seconds S]
//                        [--threads N] [--rnn] [--conv C1,C2,...|none]
//                        [--bf16] [--graph] [--data host|device]
//                        [--verify N] [--no-cudnn-benchmark]
//                        [--profile FILE]
//
// --net grid (default) is the quickstart-sized network; --net nethack an
// ONI-sized NetHack one: a 3x72x72 uint8 image through convolutions 32-8-4,
// 64-4-2, 128-3-2 and Linear 512, stats (27) and message (256 bytes)
// encoders of 128, GRU 512, 28 actions (--rnn and --conv apply to grid).
// --bf16 runs forward and loss under bf16 autocast, --graph replays the
// update from a CUDA graph (both CUDA only). --data device puts the batch on
// the device before timing (default: host, as the learner's queue hands it
// over). --verify N runs N updates on N random batches with the graph and
// the same N eagerly from the same weights and reports the largest loss
// difference. On CUDA, cuDNN picks convolution algorithms by timing them
// (--no-cudnn-benchmark: by its heuristics, as PyTorch does by default).
// --profile FILE, after timing, runs five updates under LibTorch's Kineto
// profiler and writes what ran on the device (CUDA: kernels and copies; CPU:
// ops, their time including the ops they call) by total time to FILE, as
// bench/learner_update.py --profile does for PyTorch.
//
// Prints the configuration, then, as its last line, one JSON object:
// {"name":"learner_update","device":"cpu","net":"grid","batch":32,
//  "unroll":32,"samples_per_s":...,"updates_per_s":...,"threads":1,...}
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bench/flags.h"
#include "learner/core/cuda_graph.h"
#include "learner/core/malloc_tuning.h"
#include "learner/core/random_batch.h"
#include "learner/core/updater.h"

namespace {

using lantern::core::Batch;
using lantern::core::ModelOptions;

struct Args {
  std::string device = "cpu";
  std::string net = "grid";
  int64_t batch = 32;
  int64_t unroll = 32;
  double seconds = 3.0;
  int threads = 1;
  bool rnn = false;
  std::vector<int> conv = {32, 32};
  bool bf16 = false;
  bool graph = false;
  bool cudnn_benchmark = true;
  std::string data = "host";
  int verify = 0;
  std::string profile;
};

Args Parse(int argc, char** argv) {
  Args args;
  lantern::bench::Flags flags(
      argc, argv,
      "bench_learner_update [--device cpu|cuda] [--net grid|nethack] "
      "[--batch B] [--unroll T] [--seconds S] [--threads N] [--rnn] "
      "[--conv C1,C2,...|none] [--bf16] [--graph] [--data host|device] "
      "[--verify N] [--no-cudnn-benchmark] [--profile FILE]",
      {"--rnn", "--bf16", "--graph", "--no-cudnn-benchmark"});
  flags.Get("--device", &args.device);
  flags.Get("--net", &args.net);
  flags.Get("--batch", &args.batch);
  flags.Get("--unroll", &args.unroll);
  flags.Get("--seconds", &args.seconds);
  flags.Get("--threads", &args.threads);
  args.rnn = flags.Has("--rnn");
  args.bf16 = flags.Has("--bf16");
  args.graph = flags.Has("--graph");
  args.cudnn_benchmark = !flags.Has("--no-cudnn-benchmark");
  flags.Get("--data", &args.data);
  flags.Get("--verify", &args.verify);
  flags.Get("--profile", &args.profile);
  std::string conv;
  flags.Get("--conv", &conv);
  if (!conv.empty()) {
    args.conv.clear();
    std::stringstream stream(conv == "none" ? "" : conv);
    for (std::string item; std::getline(stream, item, ',');) {
      args.conv.push_back(std::atoi(item.c_str()));
    }
  }
  const bool cuda = args.device == "cuda";
  flags.Done((cuda || args.device == "cpu") &&
             (args.net == "grid" || args.net == "nethack") &&
             (args.data == "host" || args.data == "device") && args.batch > 0 &&
             args.unroll > 0 && args.seconds > 0 && args.threads > 0 &&
             args.verify >= 0 &&
             (cuda || (!args.bf16 && !args.graph && args.verify == 0)));
  return args;
}

ModelOptions NetworkOptions(const Args& args) {
  ModelOptions m;  // the quickstart-sized defaults
  if (args.net == "nethack") {
    m.image_channels = 3;
    m.crop = 72;
    m.conv_channels = {32, 64, 128};
    m.conv_kernels = {8, 4, 3};
    m.conv_strides = {4, 2, 2};
    m.hidden = 512;
    m.num_stats = 27;
    m.stats_hidden = 128;
    m.message_len = 256;
    m.message_hidden = 128;
    m.num_actions = 28;
    m.use_rnn = true;
    m.rnn_hidden = 512;
  } else {
    m.use_rnn = args.rnn;
    m.conv_channels = args.conv;
  }
  return m;
}

std::string Join(const std::vector<int>& values) {
  std::string out;
  for (int v : values) {
    if (!out.empty()) out += ',';
    out += std::to_string(v);
  }
  return out;
}

Batch ToDevice(const Batch& b, const torch::Device& device) {
  auto to = [&](const torch::Tensor& t) {
    return t.defined() ? t.to(device) : t;
  };
  return Batch{to(b.chars),
               to(b.stats),
               to(b.message),
               to(b.actions),
               to(b.behaviour_logits),
               to(b.rewards),
               to(b.dones),
               to(b.initial_state)};
}

// The largest |loss_graph - loss_eager| over `n` updates on `n` random
// batches from the same initial weights.
double VerifyGraph(const ModelOptions& model, lantern::core::UpdateOptions u,
                   const Args& args, const torch::Device& device) {
  std::vector<Batch> batches;
  for (int i = 0; i < args.verify; ++i) {
    batches.push_back(
        lantern::core::RandomBatch(model, args.unroll, args.batch));
  }
  std::vector<double> losses[2];
  for (int graph = 0; graph < 2; ++graph) {
    torch::manual_seed(1);
    u.cuda_graph = graph == 1;
    lantern::core::Updater updater(model, u, device);
    for (const Batch& b : batches) {
      losses[graph].push_back(updater.Step(b).total_loss);
    }
    if (graph == 1 && !updater.graph_captured()) return NAN;
  }
  double worst = 0;
  for (int i = 0; i < args.verify; ++i) {
    worst = std::max(worst, std::abs(losses[0][i] - losses[1][i]));
  }
  std::printf(
      "verify: %d updates, first losses eager %.6f graph %.6f, "
      "last eager %.6f graph %.6f\n",
      args.verify, losses[0].front(), losses[1].front(), losses[0].back(),
      losses[1].back());
  return worst;
}

// ,"verify_max_loss_diff":X (null when no graph was captured), or "".
std::string VerifyJson(int verify, double diff) {
  if (verify == 0) return "";
  char value[32] = "null";
  if (!std::isnan(diff)) std::snprintf(value, sizeof(value), "%.3e", diff);
  return std::string(",\"verify_max_loss_diff\":") + value;
}

// An event's duration in microseconds: LibTorch 2 has durationNs, 1.x
// durationUs.
template <typename Event>
uint64_t DurationUs(const Event& e) {
  if constexpr (requires { e.durationNs(); }) {
    return e.durationNs() / 1000;
  } else {
    return e.durationUs();
  }
}

// Five updates under the Kineto profiler; the events on the update's device
// summed by name, largest total first, as a table in `path`.
void WriteProfile(lantern::core::Updater& updater, const Batch& batch,
                  const torch::Device& device, const std::string& path) {
  namespace profiler = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const bool cuda = device.is_cuda();
  std::set<ActivityType> activities = {ActivityType::CPU};
  if (cuda) activities.insert(ActivityType::CUDA);
  const torch::profiler::impl::ProfilerConfig config(
      torch::profiler::impl::ProfilerState::KINETO);
  constexpr int kUpdates = 5;
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities);
  for (int i = 0; i < kUpdates; ++i) updater.Step(batch);
  const std::unique_ptr<profiler::ProfilerResult> result =
      profiler::disableProfiler();
  struct Row {
    int64_t calls = 0;
    uint64_t us = 0;
  };
  std::map<std::string, Row> rows;
  uint64_t total_us = 0;
  for (const profiler::KinetoEvent& e : result->events()) {
    if (e.deviceType() != device.type()) continue;
    const uint64_t us = DurationUs(e);
    Row& row = rows[e.name()];
    ++row.calls;
    row.us += us;
    total_us += us;
  }
  std::vector<std::pair<std::string, Row>> sorted(rows.begin(), rows.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second.us > b.second.us;
  });
  std::ofstream out(path);
  char line[160];
  if (cuda) {
    std::snprintf(line, sizeof(line),
                  "%d updates; kernels and copies on the device, %.3f ms per "
                  "update in all\n",
                  kUpdates, total_us / 1000.0 / kUpdates);
  } else {
    std::snprintf(line, sizeof(line),
                  "%d updates; CPU ops, each op's time including the ops it "
                  "calls (shares overlap)\n",
                  kUpdates);
  }
  out << line;
  std::snprintf(line, sizeof(line), "%10s %8s %7s  %s\n", "total_us", "calls",
                "share", "name");
  out << line;
  constexpr size_t kRows = 40;
  for (size_t i = 0; i < std::min(kRows, sorted.size()); ++i) {
    const auto& [name, row] = sorted[i];
    std::snprintf(line, sizeof(line), "%10llu %8lld %6.1f%%  ",
                  static_cast<unsigned long long>(row.us),
                  static_cast<long long>(row.calls),
                  100.0 * row.us / std::max<uint64_t>(total_us, 1));
    out << line << name.substr(0, 150) << '\n';
  }
  if (!out) {
    std::fprintf(stderr, "--profile: cannot write %s\n", path.c_str());
    std::exit(1);
  }
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
  if (args.graph && !lantern::core::CudaGraph::Available()) {
    std::fprintf(stderr, "--graph: this build's LibTorch has no CUDA\n");
    return 1;
  }
  const torch::Device device =
      args.device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::kCPU;

  const ModelOptions model = NetworkOptions(args);
  std::printf(
      "config: net=%s crop=%d image_channels=%d num_stats=%d message_len=%d "
      "num_actions=%d char_embedding=%d conv_channels={%s} "
      "conv_kernels={%s} conv_strides={%s} hidden=%d stats_hidden=%d "
      "message_hidden=%d use_rnn=%d rnn_hidden=%d bf16=%d graph=%d "
      "data=%s\n",
      args.net.c_str(), model.crop, model.image_channels, model.num_stats,
      model.message_len, model.num_actions, model.char_embedding,
      Join(model.conv_channels).c_str(), Join(model.conv_kernels).c_str(),
      Join(model.conv_strides).c_str(), model.hidden, model.stats_hidden,
      model.message_hidden, model.use_rnn ? 1 : 0, model.rnn_hidden,
      args.bf16 ? 1 : 0, args.graph ? 1 : 0, args.data.c_str());

  lantern::core::UpdateOptions options;
  options.bf16 = args.bf16;
  options.cuda_graph = args.graph;
  options.cudnn_benchmark = args.cudnn_benchmark;
  double verify_diff = -1;
  if (args.verify > 0) {
    verify_diff = VerifyGraph(model, options, args, device);
    std::printf("verify_max_loss_diff=%.3e\n", verify_diff);
  }

  torch::manual_seed(0);
  lantern::core::Updater updater(model, options, device);
  int64_t parameters = 0;
  for (const auto& p : updater.model()->parameters()) parameters += p.numel();
  std::printf("parameters=%lld device=%s batch=%lld unroll=%lld threads=%d\n",
              static_cast<long long>(parameters), args.device.c_str(),
              static_cast<long long>(args.batch),
              static_cast<long long>(args.unroll), args.threads);

  // By default batches arrive on the CPU, as from the learner's queue, and
  // Step moves them.
  Batch batch = lantern::core::RandomBatch(model, args.unroll, args.batch);
  if (args.data == "device") batch = ToDevice(batch, device);
  using Clock = std::chrono::steady_clock;
  const auto warmup_end = Clock::now() + std::chrono::milliseconds(500);
  int warmup = 0;
  // At least one replay of a captured graph before timing.
  while (warmup < 5 || Clock::now() < warmup_end) {
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
      "{\"name\":\"learner_update\",\"device\":\"%s\",\"net\":\"%s\","
      "\"batch\":%lld,\"unroll\":%lld,\"samples_per_s\":%.1f,"
      "\"updates_per_s\":%.3f,\"threads\":%d,\"params\":%lld,\"bf16\":%s,"
      "\"graph\":%s,\"graph_captured\":%s,\"cudnn_benchmark\":%s,"
      "\"data\":\"%s\"%s}\n",
      args.device.c_str(), args.net.c_str(), static_cast<long long>(args.batch),
      static_cast<long long>(args.unroll),
      updates_per_s * static_cast<double>(args.batch * args.unroll),
      updates_per_s, args.threads, static_cast<long long>(parameters),
      args.bf16 ? "true" : "false", args.graph ? "true" : "false",
      updater.graph_captured() ? "true" : "false",
      args.cudnn_benchmark ? "true" : "false", args.data.c_str(),
      VerifyJson(args.verify, verify_diff).c_str());
  if (!args.profile.empty()) WriteProfile(updater, batch, device, args.profile);
  return 0;
}
