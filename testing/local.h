#pragma once

#include <string>

namespace lantern::testing {

// A TCP port on 127.0.0.1 that was free a moment ago, outside the range the
// kernel takes outgoing connections' ports from (so a server can bind it,
// and bind it again after a restart, without a client's connection having
// taken it); -1 if none could be had.
int PickFreePort();

// Runs `command` through the shell; returns its exit status (128 + signal
// when killed) and appends its output (stdout and stderr together).
int RunCommand(const std::string& command, std::string* output);

}  // namespace lantern::testing
