// lantern-actor: steps environments with the newest policy on the CPU and
// streams unrolls to the learner; reconnects and resends by itself.
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "actor/registration.h"
#include "actor/rollout.h"
#include "actor/trajectory_sender.h"
#include "common/cli.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics_server.h"
#include "common/prometheus.h"
#include "common/random_id.h"
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

// The actor's /metrics page.
std::string ActorPrometheus(const actor::Rollout& r,
                            const actor::SenderCounters& c,
                            const v1::ActorTiming& totals) {
  common::PromText p;
  p.Counter("actor_env_steps_total", "Environment steps taken.",
            double(r.env_steps()));
  p.Counter("actor_episodes_total", "Episodes finished.", double(r.episodes()));
  p.Counter("actor_trajectories_sent_total", "Writes (resends included).",
            double(c.sent));
  p.Counter("actor_trajectories_accepted_total", "Acked as accepted.",
            double(c.accepted));
  p.Counter("actor_trajectories_rejected_total", "Acked as rejected.",
            double(c.rejected));
  p.Counter("actor_connects_total", "Trajectory streams opened.",
            double(c.connects));
  p.Counter("actor_grpc_errors_total", "Trajectory streams that failed.",
            double(c.stream_errors));
  p.Gauge("actor_unacked", "Trajectories awaiting the learner's ack.",
          double(c.unacked));
  p.Gauge("actor_retained", "Acked, awaiting the learner's checkpoint.",
          double(c.retained));
  p.Counter("actor_retained_dropped_total",
            "Uncommitted trajectories forgotten at actor.max_retained_mb.",
            double(c.retained_dropped));
  p.Counter("actor_retained_resent_total",
            "Acked trajectories sent again to a learner that restarted.",
            double(c.retained_resent));
  p.Gauge("actor_policy_version", "Policy version acting now.",
          double(r.policy_version()));
  for (const auto& [part, s] :
       {std::pair<const char*, double>{"env", totals.env_s()},
        {"inference", totals.inference_s()},
        {"transport", totals.transport_s()},
        {"wall", totals.wall_s()}}) {
    p.Counter("actor_seconds_total", "Where the actor's time went.", s,
              {{"part", part}});
  }
  return p.str();
}

// The actor's name in logs and metrics files: actor-<index> when given (as
// `lantern run` does), else actor-<host>-<pid>, unique among replicas that
// share a run directory (compose, Kubernetes, Slurm).
std::string ActorName(int index) {
  if (index >= 0) return "actor-" + std::to_string(index);
  return "actor-" + actor::HostName() + "-" + std::to_string(::getpid());
}

int Main(const common::Config& config, const std::string& address, int index) {
  const std::string run_dir = config.RunDir();
  std::filesystem::create_directories(run_dir + "/logs");
  const std::string name = ActorName(index);
  auto log = common::SetUpLogging(name, run_dir + "/logs/" + name + ".log");
  torch::set_num_threads(int(config.actor.torch_threads));
  const std::atomic<bool>& stop = common::InstallStopHandler();

  absl::StatusOr<learner::TrajectorySpec> spec = learner::SpecFor(config);
  if (!spec.ok()) {
    log->error("{}", spec.status().ToString());
    return 2;
  }
  // A fresh random incarnation per process start: the learner tells this
  // life's trajectories from an earlier one's by it.
  const uint64_t incarnation = common::RandomId();
  const uint64_t seed = uint64_t(config.run.seed) * 7919u +
                        uint64_t(std::max(index, 0)) +
                        (incarnation & 0xffff) * 104729u;
  torch::manual_seed(seed);
  absl::StatusOr<std::unique_ptr<actor::Rollout>> rollout =
      actor::Rollout::Create(config, *spec, seed);
  if (!rollout.ok()) {
    log->error("{}", rollout.status().ToString());
    return 2;
  }

  absl::StatusOr<common::Security> security =
      common::LoadSecurity(config.security, /*server=*/false);
  if (!security.ok()) {
    log->error("{}", std::string(security.status().message()));
    return 2;
  }
  const int max_bytes = config.MaxGrpcMessageBytes();
  auto channel = common::MakeChannel(address, max_bytes, *security);
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
                                 size_t(config.actor.max_retained_mb) << 20,
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
            "unacked={} retained={} connects={}",
            r->env_steps(), r->episodes(), r->policy_version(), c.sent,
            c.accepted, c.unacked, c.retained, c.connects);
      });
  // Heartbeats tell the learner this actor is alive even while no
  // trajectory flows (a slow environment, back pressure).
  common::StatsReporter heartbeat(
      std::chrono::milliseconds(
          int64_t(config.actor.heartbeat_interval_s * 1000)),
      [&] {
        uint64_t committed = 0;
        if (registration.Beat(r->env_steps(), false, &committed)) {
          sender.Commit(committed);
        }
      });
  std::mutex totals_mu;
  v1::ActorTiming totals;  // since start, for /metrics
  const std::unique_ptr<common::MetricsServer> metrics =
      common::StartRoleMetrics(
          config.metrics.actor_listen, config.MetricsDir(), name, [&] {
            std::lock_guard lock(totals_mu);
            return ActorPrometheus(*r, sender.Counters(), totals);
          });
  uint64_t seq = 0;
  using Clock = std::chrono::steady_clock;
  Clock::time_point last = Clock::now();
  double transport_s = 0;  // sending the previous unroll
  while (!stop.load()) {
    std::unique_ptr<v1::Trajectory> t = r->Next();
    t->set_actor_id(registration.actor_id());
    t->set_incarnation(incarnation);
    t->set_seq(seq++);
    // Timing covers the previous hand-over and this unroll.
    const Clock::time_point now = Clock::now();
    v1::ActorTiming* timing = t->mutable_timing();
    timing->set_transport_s(transport_s);
    timing->set_wall_s(std::chrono::duration<double>(now - last).count());
    {
      std::lock_guard lock(totals_mu);
      totals.set_env_s(totals.env_s() + timing->env_s());
      totals.set_inference_s(totals.inference_s() + timing->inference_s());
      totals.set_transport_s(totals.transport_s() + timing->transport_s());
      totals.set_wall_s(totals.wall_s() + timing->wall_s());
    }
    last = now;
    const bool sent = sender.Send(std::move(t), stop);
    transport_s = std::chrono::duration<double>(Clock::now() - now).count();
    if (!sent) break;
  }
  log->info("stopping after {} env steps (learner {})", r->env_steps(),
            address);
  reporter.Stop();
  heartbeat.Stop();
  // A clean stop delivers the last unrolls when the learner is there.
  sender.Flush(std::chrono::seconds(1));
  sender.Stop();
  watcher.Stop();
  registration.Beat(r->env_steps(), /*leaving=*/true);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("lantern-actor: steps environments and streams unrolls");
  lantern::common::RoleArgs args;
  lantern::common::AddRoleOptions(app, args);
  std::string learner;
  int index = -1;
  app.add_option("--learner", learner,
                 "learner address host:port (default: actor.learner_addr, "
                 "then $LANTERN_LEARNER_ADDR)");
  app.add_option("--index", index,
                 "this actor's number, for logs and seeds (default: logs "
                 "as actor-<host>-<pid>)")
      ->check(CLI::NonNegativeNumber);
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
  } catch (const std::exception& e) {
    // An env that failed mid-run (a remote env server gone, a NetHack game
    // wedged): say why and exit non-zero; `lantern run` restarts the actor.
    spdlog::error("{}", e.what());
    return 1;
  }
}
