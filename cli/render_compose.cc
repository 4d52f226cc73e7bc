// `lantern render compose`: the job on one Docker host, like
// docker/compose.yaml but from the config: its images, actor.count replicas,
// resources and ports, and the rendered config mounted at kConfigPath.
#include "absl/strings/str_cat.h"
#include "cli/render.h"
#include "cli/yaml_text.h"

namespace lantern::cli {
namespace {

// Compose's units: cpus as a decimal, memory in binary k, m or g.
std::string Cpus(const std::string& cpu) {
  const int64_t millis = common::CpuMillis(cpu);
  std::string text = absl::StrCat(millis / 1000);
  if (millis % 1000 != 0) {
    std::string frac = absl::StrCat(1000 + millis % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    text += "." + frac;
  }
  return text;
}

std::string Memory(const std::string& memory) {
  const int64_t mib = common::MemoryMiB(memory);
  return mib % 1024 == 0 ? absl::StrCat(mib / 1024, "g")
                         : absl::StrCat(mib, "m");
}

Json Resources(const std::string& cpu, const std::string& memory,
               const std::string& cpu_limit, const std::string& memory_limit,
               int64_t gpus) {
  Json reservations = {{"cpus", Cpus(cpu)}, {"memory", Memory(memory)}};
  if (gpus > 0) {
    reservations["devices"] = Json::array(
        {{{"driver", "nvidia"}, {"count", gpus}, {"capabilities", {"gpu"}}}});
  }
  Json resources = {{"reservations", reservations}};
  Json limits = Json::object();
  if (!cpu_limit.empty()) limits["cpus"] = Cpus(cpu_limit);
  if (!memory_limit.empty()) limits["memory"] = Memory(memory_limit);
  if (!limits.empty()) resources["limits"] = limits;
  return resources;
}

// `lantern status` with the job's config, for its TLS and token.
Json Healthcheck(int64_t port) {
  return {{"test",
           {"CMD", "lantern", "status", absl::StrCat("127.0.0.1:", port),
            "--config", kConfigPath}},
          {"interval", "10s"},
          {"timeout", "5s"},
          {"retries", 6},
          {"start_period", "30s"}};
}

Json Service(const common::Config& config, const std::string& role,
             const std::string& image, bool runs) {
  Json volumes =
      Json::array({absl::StrCat("./config.yaml:", kConfigPath, ":ro")});
  if (runs) volumes.push_back(absl::StrCat("runs:", kRunsDir));
  if (HasSecrets(config)) {
    volumes.push_back(absl::StrCat("./secrets:", kSecretsDir, ":ro"));
  }
  return {{"image", image},
          {"command", ContainerCommand(config, role)},
          {"volumes", volumes},
          {"restart", "on-failure"}};
}

}  // namespace

std::vector<RenderedFile> RenderCompose(const common::Config& config) {
  const common::DeployConfig& d = config.deploy;
  Json services = Json::object();
  if (HasRewardServer(config)) {
    Json reward = Service(config, "reward", d.image, true);
    reward["healthcheck"] = Healthcheck(d.reward_port);
    reward["deploy"] = {
        {"resources", Resources(d.reward_cpu, d.reward_memory,
                                d.reward_cpu_limit, d.reward_memory_limit, 0)}};
    services["reward"] = reward;
  }
  Json learner = Service(config, "learner", d.LearnerImage(), true);
  if (HasRewardServer(config)) {
    learner["environment"] = {
        {"LANTERN_REWARD_ADDR", absl::StrCat("reward:", d.reward_port)}};
  }
  // The learner's /metrics on the host; the actors publish nothing, so
  // that they scale.
  learner["ports"] =
      Json::array({absl::StrCat(d.metrics_port, ":", d.metrics_port)});
  learner["healthcheck"] = Healthcheck(d.learner_port);
  learner["deploy"] = {
      {"resources",
       Resources(d.learner_cpu, d.learner_memory, d.learner_cpu_limit,
                 d.learner_memory_limit, d.learner_gpus)}};
  services["learner"] = learner;
  // Actors keep their logs in the container: they would all write
  // logs/actor-0.log in a shared volume.
  Json actor = Service(config, "actor", d.image, false);
  actor["environment"] = {
      {"LANTERN_LEARNER_ADDR", absl::StrCat("learner:", d.learner_port)}};
  actor["depends_on"] = {{"learner", {{"condition", "service_healthy"}}}};
  actor["deploy"] = {
      {"replicas", config.actor.count},
      {"resources", Resources(d.actor_cpu, d.actor_memory, d.actor_cpu_limit,
                              d.actor_memory_limit, 0)}};
  services["actor"] = actor;
  const std::string header = absl::StrCat(
      "# Rendered by `lantern render compose` for run '", config.run.name,
      "'.\n#   docker compose -f compose.yaml up -d       (or docker-compose "
      "--compatibility ...)\n#   docker compose -f compose.yaml up -d "
      "--scale actor=N\n");
  return {{"compose.yaml",
           header + ToYaml({{"services", services},
                            {"volumes", {{"runs", Json::object()}}}})},
          {"config.yaml", RenderedConfig(config)}};
}

}  // namespace lantern::cli
