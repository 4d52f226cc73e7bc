// lantern-learner: accepts trajectories from actors, trains the policy with
// APPO/V-trace, publishes weights, checkpoints, and writes summary.json.
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "common/cli.h"
#include "common/files.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics_server.h"
#include "common/scalar_log.h"
#include "common/signals.h"
#include "learner/core/malloc_tuning.h"
#include "learner/learner_metrics.h"
#include "learner/learner_service.h"
#include "learner/policy_config.h"
#include "learner/trainer.h"

namespace {

using namespace lantern;

// The reward server's address: --reward, else LANTERN_REWARD_ADDR, else
// reward.server_addr.
std::string RewardAddress(const common::Config& config,
                          const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LANTERN_REWARD_ADDR"); env && *env) {
    return env;
  }
  return config.reward.server_addr;
}

int Main(const common::Config& config, const std::string& reward_address) {
  const std::string run_dir = config.RunDir();
  std::filesystem::create_directories(run_dir + "/logs");
  auto log = common::SetUpLogging("learner", run_dir + "/logs/learner.log");
  if (absl::Status st = common::WriteFileAtomic(run_dir + "/config.yaml",
                                                common::ConfigToYaml(config));
      !st.ok()) {
    log->error("{}", st.ToString());
    return 1;
  }
  core::KeepFreedMemory();
  torch::set_num_threads(int(config.learner.torch_threads));
  const std::atomic<bool>& stop = common::InstallStopHandler();

  absl::StatusOr<learner::TrajectorySpec> spec = learner::SpecFor(config);
  if (!spec.ok()) {
    log->error("{}", spec.status().ToString());
    return 2;
  }
  absl::StatusOr<common::Security> security =
      common::LoadSecurity(config.security, /*server=*/true);
  if (!security.ok()) {
    log->error("{}", std::string(security.status().message()));
    return 2;
  }
  learner::Ingest ingest(*spec, size_t(config.learner.queue_capacity));
  common::VersionPublisher publisher;
  std::unique_ptr<learner::IntrinsicReward> intrinsic;
  std::unique_ptr<learner::RewardClient> rewards;
  if (config.reward.model_kind != "none") {
    if (reward_address.empty()) {
      log->error(
          "reward.model_kind is {} but no reward server address is given "
          "(--reward, LANTERN_REWARD_ADDR or reward.server_addr)",
          config.reward.model_kind);
      return 2;
    }
    intrinsic = std::make_unique<learner::IntrinsicReward>(config.reward,
                                                           /*background=*/true);
    rewards = std::make_unique<learner::RewardClient>(
        reward_address, config, *security,
        [&intrinsic, log](std::shared_ptr<const v1::RewardModel> model) {
          if (absl::Status st = intrinsic->SetModel(*model); !st.ok()) {
            log->warn("{}", std::string(st.message()));
          }
        },
        log);
    log->info("reward server at {}", reward_address);
  }
  learner::Trainer trainer(config, *spec, &ingest, &publisher, intrinsic.get(),
                           rewards.get(), log);
  if (absl::Status st = trainer.Restore(); !st.ok()) {
    log->error("cannot resume: {}", st.ToString());
    return 1;
  }
  learner::LearnerService service(
      &ingest, &publisher, [&trainer] { return trainer.Status(); },
      {.actor_timeout = std::chrono::milliseconds(
           int64_t(config.learner.actor_timeout_s * 1000)),
       .max_streams = config.learner.max_streams,
       .max_trajectories_per_s = config.learner.max_trajectories_per_s,
       .checkpoints = config.run.checkpoint_interval_s > 0});
  log->info(
      "trajectories held at most: {} MB (learner.queue_capacity {}, "
      "max_streams {}, max_message_mb {})",
      learner::IngestMemoryBound(config) >> 20, config.learner.queue_capacity,
      config.learner.max_streams, config.learner.max_message_mb);
  // The trainer's figures plus the service's view of the actors.
  auto status = [&] { return service.Status(); };
  absl::StatusOr<std::unique_ptr<common::ScalarLog>> opened =
      common::ScalarLog::Open(config.MetricsDir(), "learner",
                              config.metrics.tensorboard, config.metrics.csv);
  if (!opened.ok()) {
    log->error("{}", opened.status().ToString());
    return 1;
  }
  const std::unique_ptr<common::ScalarLog> scalars = *std::move(opened);
  // One stats line and one row of scalars per interval.
  int64_t last_steps = -1;
  double last_wall = 0;
  auto report = [&](const v1::LearnerStatus& s) {
    learner::LogStats(*log, s, config.reward.model_kind != "none");
    if (scalars == nullptr) return;
    const double rate =
        last_steps < 0 || s.wall_s() <= last_wall
            ? s.env_steps_per_s()
            : double(s.env_steps() - last_steps) / (s.wall_s() - last_wall);
    last_steps = s.env_steps();
    last_wall = s.wall_s();
    if (absl::Status st =
            scalars->Write(s.env_steps(), learner::LearnerScalars(s, rate));
        !st.ok()) {
      log->warn("{}", st.ToString());
    }
  };

  const int max_bytes = config.MaxGrpcMessageBytes();
  absl::StatusOr<common::StartedServer> server = common::StartServer(
      config.learner.listen, {&service}, max_bytes, *security);
  if (!server.ok()) {
    log->error("{}", server.status().ToString());
    return 1;
  }
  const std::string address =
      common::DialAddress(config.learner.listen, server->port);
  // Before learner.addr: whoever sees that file finds /metrics up too.
  const std::unique_ptr<common::MetricsServer> metrics =
      common::StartRoleMetrics(
          config.metrics.learner_listen, config.MetricsDir(), "learner",
          [&] { return learner::LearnerPrometheus(status()); });
  // lantern run and the tests read the picked port from here.
  if (absl::Status st =
          common::WriteFileAtomic(run_dir + "/learner.addr", address + "\n");
      !st.ok()) {
    log->error("{}", st.ToString());
    return 1;
  }
  log->info("listening on {} (run directory {})", address, run_dir);

  std::string reason;
  {
    common::StatsReporter reporter(
        std::chrono::milliseconds(int64_t(config.run.stats_interval_s * 1000)),
        [&] { report(status()); });
    common::StatsReporter sweeper(std::chrono::seconds(1),
                                  [&] { service.SweepActors(); });
    reason = trainer.Run(stop);
  }
  log->info("stopping: {}", reason);
  if (rewards != nullptr) rewards->RefreshStatus();
  // The figures as the run ended, actors still connected.
  const v1::LearnerStatus final_status = status();
  report(final_status);
  ingest.Close();     // streams end UNAVAILABLE; actors keep what is unacked
  publisher.Close();  // policy watches end too, so shutdown need not wait
  server->server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
  absl::Status st = trainer.Checkpoint();
  if (!st.ok()) log->error("final checkpoint failed: {}", st.ToString());
  if (absl::Status s2 = trainer.WriteSummary(final_status, reason); !s2.ok()) {
    log->error("{}", s2.ToString());
    return 1;
  }
  if (rewards != nullptr) rewards->Stop();
  std::filesystem::remove(run_dir + "/learner.addr");
  log->info("summary written to {}/summary.json", run_dir);
  return st.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("lantern-learner: the APPO/V-trace learner");
  lantern::common::RoleArgs args;
  lantern::common::AddRoleOptions(app, args);
  std::string reward;
  app.add_option("--reward", reward,
                 "reward server host:port (default: LANTERN_REWARD_ADDR, "
                 "then reward.server_addr)");
  CLI11_PARSE(app, argc, argv);
  const lantern::common::Config config =
      lantern::common::LoadConfigOrExit(args);
  try {
    return Main(config, RewardAddress(config, reward));
  } catch (const c10::Error& e) {
    spdlog::error("torch error: {}", e.what_without_backtrace());
    return 1;
  }
}
