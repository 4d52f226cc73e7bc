// The intrinsic reward inside the learner's update: times
// IntrinsicReward::Compute (ONI's classification char-CNN, cached per model
// version) against Updater::Step on the same [T, B] batch, with captions
// drawn the way a game shows them: a caption on some steps, from a
// Zipf-distributed vocabulary, a few never seen before in each batch, and a
// new model version every few updates (which empties the cache).
//
//   bench_reward_scoring [--batch B] [--unroll T] [--seconds S]
//       [--caption_rate P] [--vocab V] [--novel_rate P] [--version_every K]
//       [--warmup_batches W] [--threads N] [--conv C1,C2,...|none]
//
// The first W batches are scored untimed: a long run's learner has seen
// its common captions; what is timed is the steady state.
//
// Last line, one JSON object: {"name":"reward_scoring","captions_per_s":...,
// "share":..., ...}; share = scoring time / (scoring + update time).
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/flags.h"
#include "learner/core/random_batch.h"
#include "learner/core/updater.h"
#include "learner/intrinsic_reward.h"
#include "learner/weights.h"
#include "reward_model/caption_cnn.h"

namespace {

using Clock = std::chrono::steady_clock;
using lantern::v1::RewardModel;

struct Args {
  int64_t batch = 32;
  int64_t unroll = 32;
  double seconds = 5.0;
  double caption_rate = 0.3;
  int64_t vocab = 5000;
  double novel_rate = 0.01;
  int64_t version_every = 30;
  int64_t warmup_batches = 200;
  int threads = 1;
  std::vector<int> conv = {32, 32};
};

Args Parse(int argc, char** argv) {
  Args a;
  lantern::bench::Flags flags(
      argc, argv,
      "bench_reward_scoring [--batch B] [--unroll T] [--seconds S] "
      "[--caption_rate P] [--vocab V] [--novel_rate P] [--version_every K] "
      "[--warmup_batches W] [--threads N] [--conv C1,C2,...|none]",
      {});
  flags.Get("--batch", &a.batch);
  flags.Get("--unroll", &a.unroll);
  flags.Get("--seconds", &a.seconds);
  flags.Get("--caption_rate", &a.caption_rate);
  flags.Get("--vocab", &a.vocab);
  flags.Get("--novel_rate", &a.novel_rate);
  flags.Get("--version_every", &a.version_every);
  flags.Get("--warmup_batches", &a.warmup_batches);
  flags.Get("--threads", &a.threads);
  std::string conv;
  flags.Get("--conv", &conv);
  if (!conv.empty()) {
    a.conv.clear();
    std::stringstream stream(conv == "none" ? "" : conv);
    for (std::string item; std::getline(stream, item, ',');) {
      a.conv.push_back(std::atoi(item.c_str()));
    }
  }
  flags.Done(a.batch > 0 && a.unroll > 0 && a.seconds > 0 &&
             a.caption_rate >= 0 && a.caption_rate <= 1 && a.vocab > 0 &&
             a.novel_rate >= 0 && a.novel_rate <= 1 && a.version_every > 0 &&
             a.warmup_batches >= 0 && a.threads > 0);
  return a;
}

// NetHack-like messages, distinct per index.
std::string Message(int64_t i) {
  static const char* kForms[] = {
      "You hit the newt #%lld.",      "You see here %lld gold pieces.",
      "The jackal #%lld bites!",      "You find a hidden passage %lld.",
      "You hear some noises %lld.",   "There is a staircase down %lld here.",
      "You kill the grid bug #%lld!", "Welcome to experience level %lld."};
  char buf[96];
  std::snprintf(buf, sizeof(buf), kForms[i % 8], static_cast<long long>(i));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  torch::set_num_threads(args.threads);
  torch::manual_seed(1);

  lantern::core::ModelOptions model;
  model.conv_channels = args.conv;
  lantern::core::Updater updater(model, lantern::core::UpdateOptions{},
                                 torch::kCPU);
  const lantern::core::Batch batch =
      lantern::core::RandomBatch(model, args.unroll, args.batch);

  lantern::reward_model::CaptionCnn net(
      lantern::reward_model::CaptionCnnOptions{});
  RewardModel reward_model;
  reward_model.set_kind("classification");
  reward_model.set_caption_length(256);
  lantern::learner::ExportWeights(*net, reward_model.mutable_tensors());
  lantern::common::RewardConfig config;
  config.model_kind = "classification";
  config.intrinsic_coef = 0.4;
  lantern::learner::IntrinsicReward intrinsic(config, /*background=*/true);

  std::mt19937_64 rng(7);
  // Zipf(1) over the vocabulary, by inverse CDF.
  std::vector<double> cdf(size_t(args.vocab));
  double total = 0;
  for (int64_t i = 0; i < args.vocab; ++i)
    cdf[size_t(i)] = total += 1.0 / double(i + 1);
  std::uniform_real_distribution<double> u(0, 1);
  int64_t next_novel = args.vocab;
  const size_t steps = size_t(args.unroll * args.batch);
  std::vector<std::string> storage(steps);
  std::vector<std::string_view> captions(steps);
  auto fill = [&] {
    for (size_t i = 0; i < steps; ++i) {
      if (u(rng) >= args.caption_rate) {
        storage[i].clear();
      } else if (u(rng) < args.novel_rate) {
        storage[i] = Message(next_novel++);
      } else {
        const size_t k =
            size_t(std::lower_bound(cdf.begin(), cdf.end(), u(rng) * total) -
                   cdf.begin());
        storage[i] = Message(int64_t(std::min(k, cdf.size() - 1)));
      }
      captions[i] = storage[i];
    }
  };

  reward_model.set_version(1);
  if (!intrinsic.SetModel(reward_model).ok()) return 1;
  while (intrinsic.version() != 1) std::this_thread::yield();
  for (int64_t i = 0; i < args.warmup_batches; ++i) {
    fill();
    intrinsic.Compute(captions, args.unroll, args.batch);
  }

  double score_s = 0, update_s = 0;
  int64_t updates = 0, captioned = 0, versions = 1;
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() <
         args.seconds) {
    if (updates > 0 && updates % args.version_every == 0) {
      reward_model.set_version(++versions);
      if (!intrinsic.SetModel(reward_model).ok()) return 1;
    }
    fill();
    for (std::string_view c : captions) captioned += !c.empty();
    auto t0 = Clock::now();
    const at::Tensor r =
        intrinsic.Compute(captions, args.unroll, args.batch).r_int;
    auto t1 = Clock::now();
    updater.Step(batch);
    auto t2 = Clock::now();
    score_s += std::chrono::duration<double>(t1 - t0).count();
    update_s += std::chrono::duration<double>(t2 - t1).count();
    ++updates;
  }
  const double share = score_s / (score_s + update_s);
  std::printf(
      "updates=%lld versions=%lld captioned steps=%lld scoring %.3f s, "
      "updates %.3f s\n",
      static_cast<long long>(updates), static_cast<long long>(versions),
      static_cast<long long>(captioned), score_s, update_s);
  std::printf(
      "{\"name\":\"reward_scoring\",\"batch\":%lld,\"unroll\":%lld,"
      "\"caption_rate\":%g,\"vocab\":%lld,\"novel_rate\":%g,"
      "\"version_every\":%lld,\"captions_per_s\":%.0f,"
      "\"update_ms\":%.3f,\"scoring_ms\":%.3f,\"share\":%.4f}\n",
      static_cast<long long>(args.batch), static_cast<long long>(args.unroll),
      args.caption_rate, static_cast<long long>(args.vocab), args.novel_rate,
      static_cast<long long>(args.version_every), double(captioned) / score_s,
      1000 * update_s / double(updates), 1000 * score_s / double(updates),
      share);
  return 0;
}
