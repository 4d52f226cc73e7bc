#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/process.h"

namespace lantern::testing {

// scripts/env_server.py serving `env` (MODULE:FACTORY) on 127.0.0.1 on a
// port it picks, logging to <work_dir>/env_server.log (start-up errors go to
// stderr). Killed (SIGKILL) when destroyed if it still runs.
class PythonEnvServer {
 public:
  // Starts the server and blocks until it writes its address file (inotify,
  // no polling), up to `timeout_ms`. FAILED_PRECONDITION if it exits first
  // or does not answer in time. `extra` are more command-line options.
  static absl::StatusOr<PythonEnvServer> Start(
      const std::string& source_dir, const std::string& env,
      const std::string& work_dir, std::vector<std::string> extra = {},
      int timeout_ms = 30000);

  PythonEnvServer(PythonEnvServer&& other) noexcept;
  PythonEnvServer& operator=(PythonEnvServer&&) = delete;
  ~PythonEnvServer();

  const std::string& address() const { return address_; }
  const std::string& address_file() const { return address_file_; }
  pid_t pid() const { return process_.pid(); }
  // Sends `signal` and waits for the exit; returns the exit status.
  int Stop(int signal);

 private:
  PythonEnvServer(cli::Process process, std::string address,
                  std::string address_file)
      : process_(process),
        address_(std::move(address)),
        address_file_(std::move(address_file)) {}

  cli::Process process_;
  bool running_ = true;
  std::string address_;
  std::string address_file_;
};

}  // namespace lantern::testing
