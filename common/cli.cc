#include "common/cli.h"

#include <cstdio>
#include <cstdlib>

namespace lantern::common {

void AddRoleOptions(CLI::App& app, RoleArgs& args) {
  app.add_option("--config", args.config_path, "YAML config file")->required();
  app.add_option("--set", args.overrides,
                 "override a config value: section.key=value (repeatable)");
}

Config LoadConfigOrExit(const RoleArgs& args) {
  absl::StatusOr<Config> config = LoadConfig(args.config_path, args.overrides);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(config.status().message()).c_str());
    std::exit(2);
  }
  return *std::move(config);
}

}  // namespace lantern::common
