#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lantern::cli {

// A child process started with fork/exec. The child gets SIGTERM when the
// parent dies (PR_SET_PDEATHSIG), so no role outlives `lantern run`.
class Process {
 public:
  // Starts `argv[0]` with `argv`. When `quiet`, the child's stdout and stderr
  // go to /dev/null (its logs are in the run directory).
  static absl::StatusOr<Process> Start(const std::vector<std::string>& argv,
                                       bool quiet);

  pid_t pid() const { return pid_; }

  // Sends `signal` if the process still runs.
  void Signal(int signal) const;

  // Non-blocking: the exit status (128 + signal for a signal) once it ended.
  std::optional<int> Poll();

  // Blocks until it ends; returns the exit status as Poll does.
  int Wait();

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  static int Decode(int wait_status);

  pid_t pid_ = -1;
  std::optional<int> exit_;
};

// Runs `argv` in the foreground (its output on ours) and returns its exit
// status; 2 with a message on stderr when it cannot start.
int RunToEnd(const std::vector<std::string>& argv);

}  // namespace lantern::cli
