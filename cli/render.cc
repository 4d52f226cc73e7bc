#include "cli/render.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/security.h"

namespace lantern::cli {

std::vector<std::string> Targets() { return {"compose", "k8s", "slurm"}; }

bool HasRewardServer(const common::Config& config) {
  return config.reward.model_kind != "none";
}

bool HasSecrets(const common::Config& config) {
  return !config.security.tls_cert.empty() ||
         !config.security.token_file.empty();
}

absl::StatusOr<std::vector<RenderedFile>> SecretFiles(
    const common::Config& config, const std::string& secrets_dir,
    common::Config* job) {
  *job = config;
  absl::StatusOr<common::Security> security =
      common::LoadSecurity(config.security, /*server=*/true);
  if (!security.ok()) return security.status();
  std::vector<RenderedFile> files;
  common::SecurityConfig& s = job->security;
  auto add = [&](const std::string& name, const std::string& text,
                 std::string* key) {
    files.push_back({"secrets/" + name, text, false, true});
    *key = secrets_dir + "/" + name;
  };
  if (security->tls) {
    add("server.pem", security->cert_pem, &s.tls_cert);
    add("server.key", security->key_pem, &s.tls_key);
    if (!security->ca_pem.empty()) add("ca.pem", security->ca_pem, &s.tls_ca);
  }
  s.token_file.clear();
  if (!security->token.empty()) {
    add("token", security->token + "\n", &s.token_file);
  }
  return files;
}

std::string RenderedConfig(const common::Config& config) {
  common::Config copy = config;
  copy.actor.learner_addr.clear();
  copy.reward.server_addr.clear();
  return absl::StrCat(
      "# Rendered by `lantern render` for run '", config.run.name,
      "'. The addresses come from the cluster\n"
      "# (LANTERN_LEARNER_ADDR, LANTERN_REWARD_ADDR), so actor.learner_addr "
      "and\n# reward.server_addr are empty here.\n",
      common::ConfigToYaml(copy));
}

std::vector<std::string> ContainerCommand(const common::Config& config,
                                          const std::string& role) {
  const common::DeployConfig& d = config.deploy;
  const std::string metrics = absl::StrCat("0.0.0.0:", d.metrics_port);
  std::vector<std::string> command;
  if (role == "reward") {
    command = {"lantern-reward-server",
               "--config",
               kConfigPath,
               "--set",
               absl::StrCat("reward.listen=0.0.0.0:", d.reward_port),
               "--set",
               "metrics.reward_listen=" + metrics};
  } else if (role == "learner") {
    command = {"lantern-learner",
               "--config",
               kConfigPath,
               "--set",
               absl::StrCat("learner.listen=0.0.0.0:", d.learner_port),
               "--set",
               "metrics.learner_listen=" + metrics};
  } else {
    command = {"lantern-actor", "--config", kConfigPath, "--set",
               "metrics.actor_listen=" + metrics};
  }
  command.insert(command.end(), {"--set", absl::StrCat("run.dir=", kRunsDir)});
  return command;
}

absl::StatusOr<std::vector<RenderedFile>> Render(const common::Config& config,
                                                 const std::string& target,
                                                 const std::string& out_dir) {
  if (target != "compose" && target != "k8s" && target != "slurm") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown target '", target, "' (expected one of ",
                     absl::StrJoin(Targets(), ", "), ")"));
  }
  // Slurm's nodes read the output folder itself (a shared file system).
  common::Config job;
  absl::StatusOr<std::vector<RenderedFile>> files = SecretFiles(
      config, target == "slurm" ? out_dir + "/secrets" : kSecretsDir, &job);
  if (!files.ok()) return files.status();
  std::vector<RenderedFile> rendered = target == "compose" ? RenderCompose(job)
                                       : target == "k8s"
                                           ? RenderKubernetes(job)
                                           : RenderSlurm(job, out_dir);
  rendered.insert(rendered.end(), files->begin(), files->end());
  return rendered;
}

absl::Status WriteRendered(const std::vector<RenderedFile>& files,
                           const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat(out_dir, ": cannot create: ", ec.message()));
  }
  for (const RenderedFile& file : files) {
    const std::string path = out_dir + "/" + file.name;
    if (file.secret) {
      // The keys and token: only their owner (and the containers it
      // mounts them into) may read the folder.
      fs::create_directories(fs::path(path).parent_path(), ec);
      fs::permissions(out_dir, fs::perms::owner_all, ec);
    }
    if (absl::Status st = common::WriteFileAtomic(path, file.text); !st.ok()) {
      return st;
    }
    if (file.executable) {
      fs::permissions(path,
                      fs::perms::owner_exec | fs::perms::group_exec |
                          fs::perms::others_exec,
                      fs::perm_options::add, ec);
    }
  }
  return absl::OkStatus();
}

int RenderCommand(const common::Config& config, const std::string& target,
                  const std::string& out_dir) {
  std::filesystem::path path =
      std::filesystem::absolute(out_dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "out/"
  const std::string dir = path.string();
  absl::StatusOr<std::vector<RenderedFile>> files = Render(config, target, dir);
  absl::Status st = files.ok() ? WriteRendered(*files, dir) : files.status();
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  for (const RenderedFile& file : *files) {
    std::printf("%s/%s\n", dir.c_str(), file.name.c_str());
  }
  return 0;
}

}  // namespace lantern::cli
