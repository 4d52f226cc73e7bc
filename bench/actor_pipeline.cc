// What streaming costs an actor: env steps per second of a Rollout whose
// unrolls a TrajectorySender streams over loopback gRPC to an in-process
// learner endpoint (the real ingest side) that acks and discards them,
// divided by the same Rollout's steps per second without sending (envs +
// inference alone).
//
//   bench_actor_pipeline [--config PATH] [--seconds S] [--rounds R]
//
// The config defaults to configs/quickstart.yaml when it exists, else to the
// built-in defaults. The phases alternate for R rounds (A B A B ...; 4 by
// default, 2 s each) and the best run of each counts: on a shared machine
// the best run is the one least disturbed by others. The last line of output is
// one JSON object:
// {"name":"actor_pipeline","steps_per_s":P,"baseline_steps_per_s":B,
//  "ratio":P/B,"num_envs":N,"unroll":T,"seconds":S}
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "actor/registration.h"
#include "actor/rollout.h"
#include "actor/trajectory_sender.h"
#include "bench/flags.h"
#include "common/config.h"
#include "common/grpc_util.h"
#include "common/version_publisher.h"
#include "learner/ingest.h"
#include "learner/learner_service.h"
#include "learner/policy_config.h"
#include "learner/weights.h"

namespace {

using namespace lantern;
using Clock = std::chrono::steady_clock;

// The learner's real ingest side, with a thread that empties its queue: it
// validates, de-duplicates and acks every trajectory, then drops it.
class DiscardingLearner {
 public:
  explicit DiscardingLearner(const learner::TrajectorySpec& spec)
      : ingest_(spec, 64),
        service_(&ingest_, &publisher_, [] { return v1::LearnerStatus(); },
                 // Measures the ingest path, not the rate limit.
                 {.max_trajectories_per_s = 1e9}),
        drain_([this](std::stop_token stop) {
          while (!stop.stop_requested()) {
            ingest_.PopBatch(16, std::chrono::milliseconds(50));
          }
        }) {}
  ~DiscardingLearner() { ingest_.Close(); }

  grpc::Service* service() { return &service_; }

 private:
  learner::Ingest ingest_;
  common::VersionPublisher publisher_;
  learner::LearnerService service_;
  std::jthread drain_;
};

// CPU seconds of the process (RUSAGE_SELF) or the calling thread
// (RUSAGE_THREAD).
double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Phase {
  double steps_per_s = 0;
  double process_cores = 0;  // CPU seconds per second, all threads
  double actor_cores = 0;    // the same, the thread running the Rollout
};

// Measures from construction to Finish() on the calling thread.
class PhaseTimer {
 public:
  PhaseTimer()
      : process0_(CpuSeconds(RUSAGE_SELF)),
        thread0_(CpuSeconds(RUSAGE_THREAD)),
        start_(Clock::now()) {}

  Phase Finish(double steps) const {
    const double wall = Since(start_);
    return {steps / wall, (CpuSeconds(RUSAGE_SELF) - process0_) / wall,
            (CpuSeconds(RUSAGE_THREAD) - thread0_) / wall};
  }

 private:
  const double process0_, thread0_;
  const Clock::time_point start_;
};

// Envs + inference alone: Next() in a loop.
Phase RunBaseline(actor::Rollout& rollout, double seconds) {
  const int64_t steps0 = rollout.env_steps();
  const PhaseTimer timer;
  const Clock::time_point start = Clock::now();
  while (Since(start) < seconds) rollout.Next();
  return timer.Finish(double(rollout.env_steps() - steps0));
}

// The full actor: Next() handed to a TrajectorySender, counted by acks. The
// window opens at the first ack, so connecting and filling the pipeline do
// not count; what is still in flight at the end does not count either.
Phase RunPipeline(actor::Rollout& rollout,
                  const std::shared_ptr<grpc::Channel>& channel,
                  const common::Config& config,
                  const learner::TrajectorySpec& spec, uint64_t incarnation,
                  double seconds) {
  actor::Registration registration(channel, config, spec, incarnation);
  actor::TrajectorySender sender(channel, size_t(config.actor.max_unacked),
                                 /*max_retained_bytes=*/0,  // no checkpoints
                                 [&] { return registration.Register(); });
  const std::atomic<bool> cancel{false};
  uint64_t seq = 0;
  auto send_next = [&] {
    std::unique_ptr<v1::Trajectory> t = rollout.Next();
    t->set_actor_id(registration.actor_id());
    t->set_incarnation(incarnation);
    t->set_seq(seq++);
    return sender.Send(std::move(t), cancel);
  };
  const int64_t steps_per_unroll = spec.unroll * config.actor.num_envs;
  // Warm up until the stream is open and the first ack is back.
  send_next();
  const Clock::time_point connect_start = Clock::now();
  while (sender.Counters().accepted == 0) {
    if (Since(connect_start) > 10.0) {
      std::fprintf(stderr, "no ack from the learner endpoint within 10 s\n");
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  const uint64_t acked0 = sender.Counters().accepted;
  const PhaseTimer timer;
  const Clock::time_point start = Clock::now();
  while (Since(start) < seconds && send_next()) {
  }
  const actor::SenderCounters end = sender.Counters();
  const Phase phase =
      timer.Finish(double(end.accepted - acked0) * double(steps_per_unroll));
  sender.Stop();
  if (end.rejected != 0 || end.connects != 1) {
    std::printf("  warning: %llu rejected, %llu streams opened\n",
                static_cast<unsigned long long>(end.rejected),
                static_cast<unsigned long long>(end.connects));
  }
  return phase;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     "bench_actor_pipeline [--config PATH] "
                     "[--seconds S] [--rounds R]");
  std::string config_path;
  double seconds = 2.0;
  int rounds = 4;
  flags.Get("--config", &config_path);
  flags.Get("--seconds", &seconds);
  flags.Get("--rounds", &rounds);
  flags.Done(seconds > 0 && rounds > 0);
  torch::set_num_threads(1);

  if (config_path.empty() &&
      std::filesystem::exists("configs/quickstart.yaml")) {
    config_path = "configs/quickstart.yaml";
  }
  common::Config config;
  if (!config_path.empty()) {
    absl::StatusOr<common::Config> loaded = common::LoadConfig(config_path, {});
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      return 2;
    }
    config = *std::move(loaded);
  }
  absl::StatusOr<learner::TrajectorySpec> spec = learner::SpecFor(config);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    return 2;
  }

  try {
    torch::manual_seed(uint64_t(config.run.seed));
    absl::StatusOr<std::unique_ptr<actor::Rollout>> rollout =
        actor::Rollout::Create(config, *spec, uint64_t(config.run.seed));
    if (!rollout.ok()) {
      std::fprintf(stderr, "%s\n", rollout.status().ToString().c_str());
      return 2;
    }
    // Act with version 0 of a fresh network, as after the learner's first
    // publication.
    core::PolicyNet net(learner::ModelOptionsFor(config, *spec));
    auto weights = std::make_shared<v1::PolicyWeights>();
    weights->set_version(0);
    learner::ExportWeights(*net, weights->mutable_tensors());
    (*rollout)->SetWeights(weights);

    const int max_bytes = config.MaxGrpcMessageBytes();
    DiscardingLearner learner(*spec);
    absl::StatusOr<common::StartedServer> server =
        common::StartServer("127.0.0.1:0", {learner.service()}, max_bytes);
    if (!server.ok()) {
      std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
      return 1;
    }
    auto channel = common::MakeChannel(
        "127.0.0.1:" + std::to_string(server->port), max_bytes);

    (*rollout)->Next();  // applies the weights and warms up LibTorch
    std::printf("config %s: %lld envs, unroll %lld, %.1f s per run\n",
                config_path.empty() ? "(defaults)" : config_path.c_str(),
                static_cast<long long>(config.actor.num_envs),
                static_cast<long long>(config.actor.unroll), seconds);
    Phase best_baseline, best_pipeline;
    for (int round = 0; round < rounds; ++round) {
      const Phase baseline = RunBaseline(**rollout, seconds);
      const Phase pipeline = RunPipeline(**rollout, channel, config, *spec,
                                         uint64_t(round + 1), seconds);
      // Steps per CPU second of the actor thread tell whether sending made
      // the actor's own work dearer or only took CPU time away from it.
      for (const auto& [what, p] :
           {std::pair{"baseline", baseline}, std::pair{"pipeline", pipeline}}) {
        std::printf(
            "round %d %s: %.0f steps/s; cores: %.2f actor thread, %.2f "
            "others; %.0f steps per actor CPU-s\n",
            round + 1, what, p.steps_per_s, p.actor_cores,
            p.process_cores - p.actor_cores, p.steps_per_s / p.actor_cores);
      }
      std::fflush(stdout);
      if (baseline.steps_per_s > best_baseline.steps_per_s) {
        best_baseline = baseline;
      }
      if (pipeline.steps_per_s > best_pipeline.steps_per_s) {
        best_pipeline = pipeline;
      }
    }
    server->server->Shutdown();

    std::printf(
        "{\"name\":\"actor_pipeline\",\"steps_per_s\":%.0f,"
        "\"baseline_steps_per_s\":%.0f,\"ratio\":%.3f,\"num_envs\":%lld,"
        "\"unroll\":%lld,\"seconds\":%.3f}\n",
        best_pipeline.steps_per_s, best_baseline.steps_per_s,
        best_pipeline.steps_per_s / best_baseline.steps_per_s,
        static_cast<long long>(config.actor.num_envs),
        static_cast<long long>(config.actor.unroll), seconds);
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "torch error: %s\n", e.what_without_backtrace());
    return 1;
  }
  return 0;
}
