#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config.h"

namespace lantern::cli {

// Where every rendered job finds its config, inside each container.
inline constexpr char kConfigDir[] = "/etc/lantern/job";
inline constexpr char kConfigPath[] = "/etc/lantern/job/config.yaml";
// The run directory's parent inside the image (docker/Dockerfile).
inline constexpr char kRunsDir[] = "/var/lib/lantern/runs";
// Where containers find the job's TLS files and token (security.*).
inline constexpr char kSecretsDir[] = "/etc/lantern/secrets";

// One file of a rendered job, relative to the output folder.
struct RenderedFile {
  std::string name;
  std::string text;
  bool executable = false;
  bool secret = false;  // its folder is made private (0700)
};

// The targets `lantern render` and `lantern launch` know.
std::vector<std::string> Targets();

// The config every rendered role reads: the effective config with
// actor.learner_addr and reward.server_addr cleared, since the cluster
// decides the addresses (LANTERN_LEARNER_ADDR, LANTERN_REWARD_ADDR).
std::string RenderedConfig(const common::Config& config);

// Whether the job has a reward server (reward.model_kind is not none).
bool HasRewardServer(const common::Config& config);

// Whether the job uses TLS or a token (security.*): then its renderers mount
// the secrets/ folder of the output at kSecretsDir.
bool HasSecrets(const common::Config& config);

// The job's TLS files and token, read now (security.*, the token from
// security.token_file or $security.token_env) and copied into secrets/ of
// the output folder: server.pem, server.key, ca.pem (if set), token (if
// any). `job` gets security.* pointing at `secrets_dir`, where the roles see
// them. INVALID_ARGUMENT naming the key when a file cannot be read.
absl::StatusOr<std::vector<RenderedFile>> SecretFiles(
    const common::Config& config, const std::string& secrets_dir,
    common::Config* job);

// The command a container of `role` ("reward", "learner", "actor") runs:
// the binary, --config kConfigPath and --set for the listen addresses,
// run.dir (kRunsDir) and the /metrics address on deploy.metrics_port.
std::vector<std::string> ContainerCommand(const common::Config& config,
                                          const std::string& role);

// docker compose: compose.yaml and config.yaml.
std::vector<RenderedFile> RenderCompose(const common::Config& config);

// Kubernetes: namespace.yaml (unless "default"), configmap.yaml,
// reward.yaml (when reward.model_kind is not none), learner.yaml,
// actor.yaml and kustomization.yaml.
std::vector<RenderedFile> RenderKubernetes(const common::Config& config);

// Slurm: lantern.sbatch (a heterogeneous batch job) and config.yaml; the
// script names the config by its path in `out_dir` (absolute), which must be
// on a file system the nodes share.
std::vector<RenderedFile> RenderSlurm(const common::Config& config,
                                      const std::string& out_dir);

// Renders `target` for the absolute folder `out_dir` without writing.
// INVALID_ARGUMENT for an unknown target.
absl::StatusOr<std::vector<RenderedFile>> Render(const common::Config& config,
                                                 const std::string& target,
                                                 const std::string& out_dir);

// Creates `out_dir` and writes `files` into it (atomically each).
absl::Status WriteRendered(const std::vector<RenderedFile>& files,
                           const std::string& out_dir);

// `lantern render TARGET CONFIG --out DIR`: renders, writes and lists the
// files on stdout. Returns the exit status (2 on errors, with a message).
int RenderCommand(const common::Config& config, const std::string& target,
                  const std::string& out_dir);

}  // namespace lantern::cli
