// `lantern render k8s`: one namespace per job. The learner is a Deployment
// (one replica, a GPU, checkpoints on a volume claim), the reward server a
// StatefulSet with a claim for its label store, the actors a Deployment whose
// replicas are actor.count; the config is a ConfigMap mounted at kConfigPath.
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/render.h"
#include "cli/yaml_text.h"

namespace lantern::cli {
namespace {

constexpr char kConfigMap[] = "lantern-config";
// Made by kustomize from the output's secrets/ folder (kubectl apply -k).
constexpr char kSecret[] = "lantern-secrets";
// The non-root user of docker/Dockerfile; fsGroup makes volumes writable.
constexpr int kUid = 10001;

Json Labels(const std::string& component) {
  return {{"app.kubernetes.io/name", "lantern"},
          {"app.kubernetes.io/component", component}};
}

Json Metadata(const common::Config& config, const std::string& name,
              const std::string& component) {
  return {{"name", name},
          {"namespace", config.deploy.namespace_name},
          {"labels", Labels(component)}};
}

// requests and limits; empty limits are left out.
Json Resources(const std::string& cpu, const std::string& memory,
               const std::string& cpu_limit, const std::string& memory_limit,
               int64_t gpus) {
  Json requests = {{"cpu", cpu}, {"memory", memory}};
  Json limits = Json::object();
  if (!cpu_limit.empty()) limits["cpu"] = cpu_limit;
  if (!memory_limit.empty()) limits["memory"] = memory_limit;
  if (gpus > 0) {
    // Extended resources need equal requests and limits.
    requests["nvidia.com/gpu"] = std::to_string(gpus);
    limits["nvidia.com/gpu"] = std::to_string(gpus);
  }
  Json resources = {{"requests", requests}};
  if (!limits.empty()) resources["limits"] = limits;
  return resources;
}

// `lantern status` with the job's config, for its TLS and token.
Json Probe(int64_t port) {
  return {{"exec",
           {{"command",
             Json::array({"lantern", "status", absl::StrCat("127.0.0.1:", port),
                          "--config", kConfigPath})}}},
          {"periodSeconds", 10},
          {"timeoutSeconds", 5},
          {"failureThreshold", 6}};
}

Json Port(const std::string& name, int64_t port) {
  return {{"name", name}, {"containerPort", port}, {"protocol", "TCP"}};
}

Json ServicePort(const std::string& name, int64_t port) {
  return {{"name", name},
          {"port", port},
          {"targetPort", name},
          {"protocol", "TCP"}};
}

Json Service(const common::Config& config, const std::string& component,
             int64_t grpc_port, bool headless) {
  Json spec = {
      {"selector", Labels(component)},
      {"ports",
       Json::array({ServicePort("grpc", grpc_port),
                    ServicePort("metrics", config.deploy.metrics_port)})}};
  if (headless) spec["clusterIP"] = "None";
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", Metadata(config, component, component)},
          {"spec", spec}};
}

Json ClaimSpec(const common::Config& config, const std::string& size) {
  Json spec = {{"accessModes", Json::array({"ReadWriteOnce"})},
               {"resources", {{"requests", {{"storage", size}}}}}};
  if (!config.deploy.storage_class.empty()) {
    spec["storageClassName"] = config.deploy.storage_class;
  }
  return spec;
}

Json ConfigVolume() {
  return {{"name", "config"}, {"configMap", {{"name", kConfigMap}}}};
}

Json PodSpec(Json container, Json volumes) {
  return {{"securityContext",
           {{"runAsNonRoot", true},
            {"runAsUser", kUid},
            {"runAsGroup", kUid},
            {"fsGroup", kUid}}},
          {"containers", Json::array({std::move(container)})},
          {"volumes", std::move(volumes)}};
}

Json Container(const common::Config& config, const std::string& role,
               const std::string& image) {
  return {{"name", role},
          {"image", image},
          {"imagePullPolicy", config.deploy.pull_policy},
          {"command", ContainerCommand(config, role)}};
}

Json ConfigMount() {
  return {{"name", "config"}, {"mountPath", kConfigDir}, {"readOnly", true}};
}

// The Secret's key for a security.* path: the file's name in secrets/
// (SecretFiles pointed the key there); "" for an unset key.
std::string SecretKey(const std::string& path) {
  return path.empty() ? "" : std::filesystem::path(path).filename().string();
}

// The servers get every secret file; a client (an actor) only what a client
// needs: the CA and the token, never the server's key.
Json SecretVolume(const common::Config& config, bool server) {
  Json secret = {{"secretName", kSecret}, {"defaultMode", 0440}};
  if (!server) {
    Json items = Json::array();
    for (const std::string* path :
         {&config.security.tls_ca, &config.security.token_file}) {
      if (const std::string key = SecretKey(*path); !key.empty()) {
        items.push_back({{"key", key}, {"path", key}});
      }
    }
    secret["items"] = items;
  }
  return {{"name", "secrets"}, {"secret", secret}};
}

Json SecretMount() {
  return {{"name", "secrets"}, {"mountPath", kSecretsDir}, {"readOnly", true}};
}

// Adds the secrets' volume and mount when the role needs any.
void AddSecrets(const common::Config& config, bool server, Json& container,
                Json& volumes) {
  if (!HasSecrets(config)) return;
  Json volume = SecretVolume(config, server);
  const Json& secret = volume["secret"];
  if (secret.contains("items") && secret["items"].empty()) {
    return;  // an empty list would project every key
  }
  container["volumeMounts"].push_back(SecretMount());
  volumes.push_back(std::move(volume));
}

Json RunsMount() { return {{"name", "runs"}, {"mountPath", kRunsDir}}; }

std::vector<Json> Learner(const common::Config& config) {
  const common::DeployConfig& d = config.deploy;
  std::vector<Json> docs;
  Json runs = {{"name", "runs"}, {"emptyDir", Json::object()}};
  if (!d.learner_storage.empty()) {
    docs.push_back({{"apiVersion", "v1"},
                    {"kind", "PersistentVolumeClaim"},
                    {"metadata", Metadata(config, "learner-runs", "learner")},
                    {"spec", ClaimSpec(config, d.learner_storage)}});
    runs = {{"name", "runs"},
            {"persistentVolumeClaim", {{"claimName", "learner-runs"}}}};
  }
  Json container = Container(config, "learner", d.LearnerImage());
  if (HasRewardServer(config)) {
    container["env"] =
        Json::array({{{"name", "LANTERN_REWARD_ADDR"},
                      {"value", absl::StrCat("reward:", d.reward_port)}}});
  }
  container["ports"] = Json::array(
      {Port("grpc", d.learner_port), Port("metrics", d.metrics_port)});
  container["resources"] =
      Resources(d.learner_cpu, d.learner_memory, d.learner_cpu_limit,
                d.learner_memory_limit, d.learner_gpus);
  container["readinessProbe"] = Probe(d.learner_port);
  container["volumeMounts"] = Json::array({ConfigMount(), RunsMount()});
  Json volumes = Json::array({ConfigVolume(), runs});
  AddSecrets(config, /*server=*/true, container, volumes);
  docs.push_back({{"apiVersion", "apps/v1"},
                  {"kind", "Deployment"},
                  {"metadata", Metadata(config, "learner", "learner")},
                  {"spec",
                   {{"replicas", 1},
                    // One learner at a time owns the checkpoints.
                    {"strategy", {{"type", "Recreate"}}},
                    {"selector", {{"matchLabels", Labels("learner")}}},
                    {"template",
                     {{"metadata", {{"labels", Labels("learner")}}},
                      {"spec", PodSpec(container, volumes)}}}}}});
  docs.push_back(Service(config, "learner", d.learner_port, false));
  return docs;
}

std::vector<Json> Reward(const common::Config& config) {
  const common::DeployConfig& d = config.deploy;
  Json container = Container(config, "reward", d.image);
  if (config.annotator.kind == "llm" && !config.annotator.api_key_env.empty()) {
    // The LLM's API key, if the Secret exists:
    //   kubectl create secret generic lantern-llm --from-literal=api-key=...
    container["env"] = Json::array({{{"name", config.annotator.api_key_env},
                                     {"valueFrom",
                                      {{"secretKeyRef",
                                        {{"name", "lantern-llm"},
                                         {"key", "api-key"},
                                         {"optional", true}}}}}}});
  }
  container["ports"] = Json::array(
      {Port("grpc", d.reward_port), Port("metrics", d.metrics_port)});
  container["resources"] =
      Resources(d.reward_cpu, d.reward_memory, d.reward_cpu_limit,
                d.reward_memory_limit, 0);
  container["readinessProbe"] = Probe(d.reward_port);
  container["volumeMounts"] = Json::array({ConfigMount(), RunsMount()});
  Json volumes = Json::array({ConfigVolume()});
  AddSecrets(config, /*server=*/true, container, volumes);
  Json claim = {{"metadata", {{"name", "runs"}, {"labels", Labels("reward")}}},
                {"spec", ClaimSpec(config, d.reward_storage)}};
  Json statefulset = {{"apiVersion", "apps/v1"},
                      {"kind", "StatefulSet"},
                      {"metadata", Metadata(config, "reward", "reward")},
                      {"spec",
                       {{"serviceName", "reward"},
                        {"replicas", 1},
                        {"selector", {{"matchLabels", Labels("reward")}}},
                        {"template",
                         {{"metadata", {{"labels", Labels("reward")}}},
                          {"spec", PodSpec(container, volumes)}}},
                        {"volumeClaimTemplates", Json::array({claim})}}}};
  // Headless: the name resolves to the one pod the StatefulSet keeps.
  return {statefulset, Service(config, "reward", d.reward_port, true)};
}

Json Actors(const common::Config& config) {
  const common::DeployConfig& d = config.deploy;
  Json container = Container(config, "actor", d.image);
  container["env"] =
      Json::array({{{"name", "LANTERN_LEARNER_ADDR"},
                    {"value", absl::StrCat("learner:", d.learner_port)}}});
  container["ports"] = Json::array({Port("metrics", d.metrics_port)});
  container["resources"] = Resources(
      d.actor_cpu, d.actor_memory, d.actor_cpu_limit, d.actor_memory_limit, 0);
  container["volumeMounts"] = Json::array({ConfigMount()});
  Json volumes = Json::array({ConfigVolume()});
  AddSecrets(config, /*server=*/false, container, volumes);
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", Metadata(config, "actor", "actor")},
          {"spec",
           {{"replicas", config.actor.count},
            {"selector", {{"matchLabels", Labels("actor")}}},
            {"template",
             {{"metadata", {{"labels", Labels("actor")}}},
              {"spec", PodSpec(container, volumes)}}}}}};
}

}  // namespace

std::vector<RenderedFile> RenderKubernetes(const common::Config& config) {
  const std::string& ns = config.deploy.namespace_name;
  std::vector<RenderedFile> files;
  Json resources = Json::array();
  auto add = [&](const std::string& name, const std::vector<Json>& docs) {
    files.push_back({name, ToYamlDocuments(docs)});
    resources.push_back(name);
  };
  if (ns != "default") {
    add("namespace.yaml",
        {{{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", ns}, {"labels", Labels("job")}}}}});
  }
  add("configmap.yaml",
      {{{"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata", Metadata(config, kConfigMap, "config")},
        {"data", {{"config.yaml", RenderedConfig(config)}}}}});
  if (HasRewardServer(config)) add("reward.yaml", Reward(config));
  add("learner.yaml", Learner(config));
  add("actor.yaml", {Actors(config)});
  Json kustomization = {{"apiVersion", "kustomize.config.k8s.io/v1beta1"},
                        {"kind", "Kustomization"},
                        {"namespace", ns},
                        {"resources", resources}};
  if (HasSecrets(config)) {
    // The Secret comes from the files in secrets/, so no key or token is
    // written into a manifest.
    Json files_list = Json::array();
    for (const std::string* path :
         {&config.security.tls_cert, &config.security.tls_key,
          &config.security.tls_ca, &config.security.token_file}) {
      if (const std::string key = SecretKey(*path); !key.empty()) {
        files_list.push_back("secrets/" + key);
      }
    }
    kustomization["secretGenerator"] = Json::array(
        {{{"name", kSecret},
          {"type", "Opaque"},
          {"files", files_list},
          {"options",
           {{"disableNameSuffixHash", true}, {"labels", Labels("secrets")}}}}});
  }
  files.push_back({"kustomization.yaml", ToYaml(kustomization)});
  return files;
}

}  // namespace lantern::cli
