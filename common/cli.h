#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common/config.h"

namespace lantern::common {

// The options every role's main() takes: --config PATH and --set k=v.
struct RoleArgs {
  std::string config_path;
  std::vector<std::string> overrides;
};

// Adds --config and --set to `app`.
void AddRoleOptions(CLI::App& app, RoleArgs& args);

// Loads the config; on failure prints every error to stderr and exits with
// status 2 (the "bad config" exit code of every Lantern command).
Config LoadConfigOrExit(const RoleArgs& args);

}  // namespace lantern::common
