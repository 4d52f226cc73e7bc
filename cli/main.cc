// lantern: the command-line front.
//   lantern run CONFIG [--set section.key=value]...
//   lantern check-config CONFIG [--set ...]
//   lantern status RUN_DIR|HOST:PORT
//   lantern plot RUN_DIR... [--out DIR] [--tags TAG,...]
//   lantern eval RUN_DIR [--episodes N] [--greedy] ...  (runs lantern-eval)
//   lantern render compose|k8s|slurm CONFIG --out DIR [--set ...]
//   lantern launch CONFIG --target compose|k8s|slurm [--out DIR] [--dry-run]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "actor/env_factory.h"
#include "cli/launch_command.h"
#include "cli/plot_command.h"
#include "cli/render.h"
#include "cli/run_command.h"
#include "cli/status_command.h"
#include "common/config.h"

namespace {

using namespace lantern;

// Loads and validates the config and everything it implies (the env options
// fit their family); prints every error and returns nullopt on failure.
std::optional<common::Config> Check(const std::string& path,
                                    const std::vector<std::string>& sets) {
  absl::StatusOr<common::Config> config = common::LoadConfig(path, sets);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(config.status().message()).c_str());
    return std::nullopt;
  }
  absl::StatusOr<actor::EnvShape> shape = actor::ShapeOf(config->env);
  if (!shape.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", path.c_str(),
                 std::string(shape.status().message()).c_str());
    return std::nullopt;
  }
  return *config;
}

std::string BinDir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("lantern: distributed actor-learner RL for sparse rewards");
  app.require_subcommand(1);
  std::string path;
  std::vector<std::string> sets;

  CLI::App* run = app.add_subcommand(
      "run", "train on this machine: learner and actors as local processes");
  run->add_option("config", path, "YAML config")->required();
  run->add_option("--set", sets, "override: section.key=value (repeatable)");

  CLI::App* check = app.add_subcommand(
      "check-config", "validate a config and print the effective one");
  check->add_option("config", path, "YAML config")->required();
  check->add_option("--set", sets, "override: section.key=value (repeatable)");

  std::string target;
  CLI::App* status = app.add_subcommand(
      "status", "print a running learner's or reward server's live state");
  status->add_option("target", target, "run directory or host:port")
      ->required();
  status->add_option("--config", path,
                     "the run's config, for its security keys (default: "
                     "the run directory's config.yaml)");
  status->add_option("--set", sets, "override: section.key=value (repeatable)");

  std::vector<std::string> run_dirs;
  std::string out, tags;
  CLI::App* plot = app.add_subcommand(
      "plot", "write PNG learning curves of one or more runs");
  plot->add_option("run_dirs", run_dirs, "run directories")->required();
  plot->add_option("--out", out,
                   "folder for the PNGs (default: first run's plots/)");
  plot->add_option("--tags", tags, "other scalars to plot, comma-separated");

  std::string deploy_target, deploy_out;
  CLI::App* render = app.add_subcommand(
      "render", "write the files that run CONFIG on a cluster");
  render->add_option("target", deploy_target, "compose, k8s or slurm")
      ->required()
      ->check(CLI::IsMember(cli::Targets()));
  render->add_option("config", path, "YAML config")->required();
  render->add_option("--out", deploy_out, "folder for the files")->required();
  render->add_option("--set", sets, "override: section.key=value (repeatable)");

  bool dry_run = false;
  CLI::App* launch = app.add_subcommand(
      "launch", "render CONFIG and start it with the target's own tool");
  launch->add_option("config", path, "YAML config")->required();
  launch->add_option("--target", deploy_target, "compose, k8s or slurm")
      ->required()
      ->check(CLI::IsMember(cli::Targets()));
  launch->add_option("--out", deploy_out,
                     "folder for the files (default: RUN_DIR/deploy-TARGET)");
  launch->add_flag("--dry-run", dry_run,
                   "print the files and the command instead");
  launch->add_option("--set", sets, "override: section.key=value (repeatable)");

  CLI::App* eval = app.add_subcommand(
      "eval",
      "play episodes with a run's checkpointed policy and write replays "
      "(lantern eval --help for options)");
  // Everything after `eval` goes to lantern-eval, --help included.
  eval->prefix_command();
  eval->set_help_flag();

  CLI11_PARSE(app, argc, argv);
  if (eval->parsed()) {
    std::vector<std::string> args = {BinDir() + "/lantern-eval"};
    for (const std::string& a : eval->remaining()) args.push_back(a);
    std::vector<char*> argv_eval;
    for (std::string& a : args) argv_eval.push_back(a.data());
    argv_eval.push_back(nullptr);
    ::execv(argv_eval[0], argv_eval.data());
    std::fprintf(stderr, "error: cannot run %s: %s\n", args[0].c_str(),
                 std::strerror(errno));
    return 2;
  }
  if (status->parsed()) return cli::PrintStatus(target, path, sets);
  if (plot->parsed()) return cli::Plot(run_dirs, out, tags, BinDir());
  std::optional<common::Config> config = Check(path, sets);
  if (!config.has_value()) return 2;
  if (check->parsed()) {
    std::printf("%s", common::ConfigToYaml(*config).c_str());
    return 0;
  }
  if (render->parsed()) {
    return cli::RenderCommand(*config, deploy_target, deploy_out);
  }
  if (launch->parsed()) {
    return cli::Launch(*config, deploy_target, deploy_out, dry_run);
  }
  return cli::RunLocal(*config, BinDir());
}
