#include "cli/launch_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "cli/process.h"
#include "cli/render.h"

namespace lantern::cli {
namespace {

// A word as a shell reads it back: quoted only when it has to be.
std::string ShellWord(const std::string& s) {
  if (!s.empty() &&
      s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789_-./:=@%+,") == std::string::npos) {
    return s;
  }
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  for (const std::string& a : argv) words.push_back(ShellWord(a));
  return absl::StrJoin(words, " ");
}

// Whether `docker compose` (the v2 plugin) answers.
bool HasComposePlugin(const std::string& docker) {
  absl::StatusOr<Process> p =
      Process::Start({docker, "compose", "version"}, /*quiet=*/true);
  return p.ok() && p->Wait() == 0;
}

std::string AbsoluteDir(const std::string& dir) {
  std::filesystem::path path =
      std::filesystem::absolute(dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  return path.string();
}

}  // namespace

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0 &&
        !std::filesystem::is_directory(candidate)) {
      return candidate;
    }
  }
  return "";
}

absl::StatusOr<std::vector<std::string>> LaunchCommand(
    const std::string& target, const std::string& out_dir, bool for_dry_run) {
  if (target == "compose") {
    const std::string file = out_dir + "/compose.yaml";
    if (const std::string docker = FindOnPath("docker");
        !docker.empty() && HasComposePlugin(docker)) {
      return std::vector<std::string>{"docker", "compose", "-f",
                                      file,     "up",      "-d"};
    }
    if (!FindOnPath("docker-compose").empty() || for_dry_run) {
      // Compose v1 applies deploy.resources only in compatibility mode.
      return std::vector<std::string>{
          "docker-compose", "--compatibility", "-f", file, "up", "-d"};
    }
    return absl::NotFoundError(
        "neither `docker compose` nor `docker-compose` is on PATH: install "
        "Docker's compose plugin or Debian's docker-compose");
  }
  if (target == "k8s") {
    if (FindOnPath("kubectl").empty() && !for_dry_run) {
      return absl::NotFoundError(
          "kubectl is not on PATH: install it (Debian: kubernetes-client) and "
          "point it at the cluster");
    }
    return std::vector<std::string>{"kubectl", "apply", "-k", out_dir};
  }
  if (target == "slurm") {
    if (FindOnPath("sbatch").empty() && !for_dry_run) {
      return absl::NotFoundError(
          "sbatch is not on PATH: run `lantern launch` on a Slurm login node");
    }
    return std::vector<std::string>{"sbatch", out_dir + "/lantern.sbatch"};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown target '", target, "' (expected one of ",
                   absl::StrJoin(Targets(), ", "), ")"));
}

int Launch(const common::Config& config, const std::string& target,
           const std::string& out_dir, bool dry_run) {
  const std::string dir = AbsoluteDir(
      out_dir.empty() ? absl::StrCat(config.RunDir(), "/deploy-", target)
                      : out_dir);
  absl::StatusOr<std::vector<RenderedFile>> files = Render(config, target, dir);
  absl::StatusOr<std::vector<std::string>> command =
      files.ok() ? LaunchCommand(target, dir, dry_run) : files.status();
  if (!command.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(command.status().message()).c_str());
    return 2;
  }
  if (dry_run) {
    for (const RenderedFile& file : *files) {
      // Keys and tokens stay out of terminals and CI logs.
      std::printf("# %s/%s\n%s\n", dir.c_str(), file.name.c_str(),
                  file.secret ? "(secret: not shown)" : file.text.c_str());
    }
    std::printf("$ %s\n", CommandLine(*command).c_str());
    return 0;
  }
  if (absl::Status st = WriteRendered(*files, dir); !st.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  std::fprintf(stderr, "wrote %zu files to %s\n$ %s\n", files->size(),
               dir.c_str(), CommandLine(*command).c_str());
  std::vector<std::string> argv = *command;
  argv[0] = FindOnPath(argv[0]);
  return RunToEnd(argv);
}

}  // namespace lantern::cli
