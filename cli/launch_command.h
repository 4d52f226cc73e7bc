#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"

namespace lantern::cli {

// The absolute path of `name` in a folder of $PATH, or "" if none has it.
std::string FindOnPath(const std::string& name);

// The command that starts a job rendered into `out_dir` with `target`'s own
// tool: `docker compose up -d` (or Debian's `docker-compose --compatibility
// up -d`, so that it applies the resources), `kubectl apply -k`, `sbatch`.
// NOT_FOUND, naming what to install, when the tool is not on $PATH; with
// `for_dry_run`, the usual command instead. Runs `docker compose version` to
// tell whether the compose plugin is there.
absl::StatusOr<std::vector<std::string>> LaunchCommand(
    const std::string& target, const std::string& out_dir, bool for_dry_run);

// `lantern launch CONFIG --target T [--out DIR] [--dry-run]`: renders into
// DIR (default: <run dir>/deploy-<target>) and runs LaunchCommand's command,
// returning its exit status. With `dry_run`, prints the files and the
// command instead and writes nothing. 2 with a message on errors.
int Launch(const common::Config& config, const std::string& target,
           const std::string& out_dir, bool dry_run);

}  // namespace lantern::cli
