#pragma once

#include <string>

namespace lantern::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound by the OS,
// read, released); -1 if none could be had.
int PickFreePort();

// Runs `command` through the shell; returns its exit status (128 + signal
// when killed) and appends its output (stdout and stderr together).
int RunCommand(const std::string& command, std::string* output);

}  // namespace lantern::testing
