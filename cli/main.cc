// lantern: the command-line front.
//   lantern run CONFIG [--set section.key=value]...
//   lantern check-config CONFIG [--set ...]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "actor/env_factory.h"
#include "cli/run_command.h"
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

  CLI11_PARSE(app, argc, argv);
  std::optional<common::Config> config = Check(path, sets);
  if (!config.has_value()) return 2;
  if (check->parsed()) {
    std::printf("%s", common::ConfigToYaml(*config).c_str());
    return 0;
  }
  return cli::RunLocal(*config, BinDir());
}
