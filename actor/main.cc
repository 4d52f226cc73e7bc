// lantern-actor: steps environments with the newest policy on the CPU and
// streams unrolls to the learner; reconnects and resends by itself.
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "actor/registration.h"
#include "actor/rollout.h"
#include "actor/trajectory_sender.h"
#include "common/cli.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/signals.h"
#include "common/version_watcher.h"
#include "learner/policy_config.h"

namespace {

using namespace lantern;

// The learner address: --learner, then the config, then the environment.
std::string LearnerAddress(const std::string& flag,
                           const common::Config& config) {
  if (!flag.empty()) return flag;
  if (!config.actor.learner_addr.empty()) return config.actor.learner_addr;
  const char* env = std::getenv("LANTERN_LEARNER_ADDR");
  return env != nullptr ? env : "";
}

int Main(const common::Config& config, const std::string& address, int index) {
  const std::string run_dir = config.RunDir();
  std::filesystem::create_directories(run_dir + "/logs");
  auto log = common::SetUpLogging(
      "actor-" + std::to_string(index),
      run_dir + "/logs/actor-" + std::to_string(index) + ".log");
  torch::set_num_threads(int(config.actor.torch_threads));
  const std::atomic<bool>& stop = common::InstallStopHandler();

  absl::StatusOr<learner::TrajectorySpec> spec = learner::SpecFor(config);
  if (!spec.ok()) {
    log->error("{}", spec.status().ToString());
    return 2;
  }
  // A fresh random incarnation per process start: the learner tells this
  // life's trajectories from an earlier one's by it.
  std::random_device rd;
  const uint64_t incarnation =
      (uint64_t(rd()) << 32) ^ rd() ^ uint64_t(::getpid());
  const uint64_t seed = uint64_t(config.run.seed) * 7919u + uint64_t(index) +
                        (incarnation & 0xffff) * 104729u;
  torch::manual_seed(seed);
  absl::StatusOr<std::unique_ptr<actor::Rollout>> rollout =
      actor::Rollout::Create(config, *spec, seed);
  if (!rollout.ok()) {
    log->error("{}", rollout.status().ToString());
    return 2;
  }

  const int max_bytes = config.MaxGrpcMessageBytes();
  auto channel = common::MakeChannel(address, max_bytes);
  log->info("learner at {}", address);
  actor::Registration registration(channel, config, *spec, incarnation);
  actor::Rollout* r = rollout->get();
  std::shared_ptr<v1::Learner::Stub> stub = v1::Learner::NewStub(channel);
  common::VersionWatcher watcher(
      "policy",
      [stub](grpc::ClientContext* context, const v1::WatchRequest* request,
             grpc::ClientReadReactor<v1::VersionChunk>* reactor) {
        stub->async()->WatchPolicy(context, request, reactor);
      },
      [r](int64_t, std::string bytes) {
        auto weights = std::make_shared<v1::PolicyWeights>();
        if (!weights->ParseFromString(bytes)) return false;
        r->SetWeights(std::move(weights));
        return true;
      });
  actor::TrajectorySender sender(channel, size_t(config.actor.max_unacked),
                                 [&] { return registration.Register(); });

  // Act only with the learner's weights, never with a random local init.
  while (!stop.load() &&
         (watcher.versions_received() == 0 || registration.actor_id() == 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  common::StatsReporter reporter(
      std::chrono::milliseconds(int64_t(config.run.stats_interval_s * 1000)),
      [&] {
        const actor::SenderCounters c = sender.Counters();
        log->info(
            "steps={} episodes={} version={} sent={} accepted={} "
            "unacked={} connects={}",
            r->env_steps(), r->episodes(), r->policy_version(), c.sent,
            c.accepted, c.unacked, c.connects);
      });
  uint64_t seq = 0;
  while (!stop.load()) {
    std::unique_ptr<v1::Trajectory> t = r->Next();
    t->set_actor_id(registration.actor_id());
    t->set_incarnation(incarnation);
    t->set_seq(seq++);
    if (!sender.Send(std::move(t), stop)) break;
  }
  log->info("stopping after {} env steps (learner {})", r->env_steps(),
            address);
  reporter.Stop();
  sender.Stop();
  watcher.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("lantern-actor: steps environments and streams unrolls");
  lantern::common::RoleArgs args;
  lantern::common::AddRoleOptions(app, args);
  std::string learner;
  int index = 0;
  app.add_option("--learner", learner,
                 "learner address host:port (default: actor.learner_addr, "
                 "then $LANTERN_LEARNER_ADDR)");
  app.add_option("--index", index, "this actor's number, for logs and seeds");
  CLI11_PARSE(app, argc, argv);
  const lantern::common::Config config =
      lantern::common::LoadConfigOrExit(args);
  const std::string address = LearnerAddress(learner, config);
  if (address.empty()) {
    std::fprintf(stderr,
                 "error: no learner address: pass --learner, set "
                 "actor.learner_addr or LANTERN_LEARNER_ADDR\n");
    return 2;
  }
  try {
    return Main(config, address, index);
  } catch (const c10::Error& e) {
    spdlog::error("torch error: {}", e.what_without_backtrace());
    return 1;
  }
}
