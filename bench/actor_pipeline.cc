// What streaming costs an actor: env steps per second of a Rollout whose
// unrolls a TrajectorySender streams over loopback gRPC to an in-process
// learner endpoint that acks and discards them, divided by the same Rollout's
// steps per second without sending (envs + inference alone).
//
//   bench_actor_pipeline [--config PATH] [--seconds S]
//
// The config defaults to configs/quickstart.yaml when it exists, else to the
// built-in defaults. Each phase runs twice, alternating (A B A B), and the
// better run of each counts. The last line of output is one JSON object:
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

#include "actor/rollout.h"
#include "actor/trajectory_sender.h"
#include "common/config.h"
#include "common/grpc_util.h"
#include "learner/policy_config.h"
#include "learner/weights.h"

namespace {

using namespace lantern;
using Clock = std::chrono::steady_clock;

// Server side of one StreamTrajectories call: acks every trajectory ACCEPTED
// as soon as it is read and drops it. The next read starts at once (the
// client's unacked limit bounds the pending acks). Deletes itself in OnDone.
class DiscardStream
    : public grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck> {
 public:
  DiscardStream() {
    std::lock_guard lock(mu_);
    read_in_flight_ = true;
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    std::lock_guard lock(mu_);
    read_in_flight_ = false;
    if (!ok) {
      reads_done_ = true;
    } else {
      v1::TrajectoryAck& ack = acks_.emplace_back();
      ack.set_incarnation(incoming_.incarnation());
      ack.set_seq(incoming_.seq());
      ack.set_status(v1::TrajectoryAck::ACCEPTED);
      if (!cancelled_) {
        // Parsing into the same message reuses its buffers.
        read_in_flight_ = true;
        StartRead(&incoming_);
      }
    }
    MaybeWriteOrFinish();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    write_in_flight_ = false;
    if (!ok) cancelled_ = true;
    MaybeWriteOrFinish();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    MaybeWriteOrFinish();
  }

  void OnDone() override { delete this; }

 private:
  // Requires mu_.
  void MaybeWriteOrFinish() {
    if (finished_ || write_in_flight_) return;
    if (!cancelled_ && !acks_.empty()) {
      writing_ = std::move(acks_.front());
      acks_.pop_front();
      write_in_flight_ = true;
      StartWrite(&writing_);
      return;
    }
    if ((reads_done_ || cancelled_) && !read_in_flight_) {
      finished_ = true;
      Finish(cancelled_ ? grpc::Status::CANCELLED : grpc::Status::OK);
    }
  }

  std::mutex mu_;
  v1::Trajectory incoming_;
  std::deque<v1::TrajectoryAck> acks_;
  v1::TrajectoryAck writing_;
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool reads_done_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

// A learner endpoint that registers anyone and acks and discards everything.
class DiscardLearner final : public v1::Learner::CallbackService {
 public:
  grpc::ServerUnaryReactor* RegisterActor(
      grpc::CallbackServerContext* context, const v1::RegisterActorRequest*,
      v1::RegisterActorResponse* response) override {
    response->set_actor_id(next_actor_id_.fetch_add(1));
    response->set_policy_version(0);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck>*
  StreamTrajectories(grpc::CallbackServerContext*) override {
    return new DiscardStream();
  }

 private:
  std::atomic<uint64_t> next_actor_id_{1};
};

struct Args {
  std::string config;  // empty: quickstart if present, else defaults
  double seconds = 3.0;
};

[[noreturn]] void Usage(const char* program) {
  std::fprintf(stderr, "usage: %s [--config PATH] [--seconds S]\n", program);
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(argv[0]);
    if (flag == "--config") {
      args.config = argv[++i];
    } else if (flag == "--seconds") {
      args.seconds = std::atof(argv[++i]);
    } else {
      Usage(argv[0]);
    }
  }
  if (!(args.seconds > 0.0)) Usage(argv[0]);
  return args;
}

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
  auto stub = v1::Learner::NewStub(channel);
  std::atomic<uint64_t> actor_id{0};
  // Registers before each stream, as the real actor does.
  auto reconnect = [&]() -> bool {
    v1::RegisterActorRequest request;
    request.set_incarnation(incarnation);
    request.set_num_envs(int32_t(config.actor.num_envs));
    request.set_crop(int32_t(spec.crop));
    request.set_num_stats(int32_t(spec.num_stats));
    request.set_message_len(int32_t(spec.message_len));
    request.set_num_actions(int32_t(spec.num_actions));
    request.set_state_size(int32_t(spec.state_size));
    v1::RegisterActorResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    if (!stub->RegisterActor(&context, request, &response).ok()) return false;
    actor_id.store(response.actor_id());
    return true;
  };
  actor::TrajectorySender sender(channel, size_t(config.actor.max_unacked),
                                 reconnect);
  const std::atomic<bool> cancel{false};
  uint64_t seq = 0;
  auto send_next = [&] {
    std::unique_ptr<v1::Trajectory> t = rollout.Next();
    t->set_actor_id(actor_id.load());
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
  const Args args = Parse(argc, argv);
  torch::set_num_threads(1);

  std::string config_path = args.config;
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
    learner::ExportWeights(*net, 0, weights.get());
    (*rollout)->SetWeights(weights);

    const int max_bytes = int(std::min<int64_t>(
        (config.learner.max_message_mb << 20) * 2 + (1 << 20), INT32_MAX));
    DiscardLearner service;
    absl::StatusOr<common::StartedServer> server =
        common::StartServer("127.0.0.1:0", {&service}, max_bytes);
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
                static_cast<long long>(config.actor.unroll), args.seconds);
    Phase best_baseline, best_pipeline;
    for (int round = 0; round < 2; ++round) {
      const Phase baseline = RunBaseline(**rollout, args.seconds);
      const Phase pipeline = RunPipeline(**rollout, channel, config, *spec,
                                         uint64_t(round + 1), args.seconds);
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
        static_cast<long long>(config.actor.unroll), args.seconds);
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "torch error: %s\n", e.what_without_backtrace());
    return 1;
  }
  return 0;
}
