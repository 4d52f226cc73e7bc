#pragma once

#include <string>
#include <vector>

#include "common/config.h"

namespace lantern::cli {

// One kind of process that `lantern run` starts. Adding a role is one more
// entry in Roles().
struct Role {
  std::string name;    // "learner", "actor", ...
  std::string binary;  // file name in the same folder as `lantern`
  int count = 1;
  // Started before the roles that need it; they wait for its address file.
  // Restarted, it listens on the same address again (--listen).
  bool is_server = false;
  // Servers whose addresses it gets, as --<name> ADDRESS.
  std::vector<std::string> peers;
  // Restarted (up to a limit) when it dies before the run ends.
  bool restart = false;
  // The run ends when this role exits.
  bool ends_run = false;
};

std::vector<Role> Roles(const common::Config& config);

// Runs every role as a local process on this machine until the learner
// finishes or SIGINT/SIGTERM arrives; then stops the rest in order and
// prints where the run directory and summary are. Returns the exit status.
int RunLocal(const common::Config& config, const std::string& bin_dir);

}  // namespace lantern::cli
