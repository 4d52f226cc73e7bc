#include "testing/env_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace lantern::testing {
namespace {

// The file's one complete line ("host:port\n"), else "".
std::string ReadAddress(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  if (text.empty() || text.back() != '\n') return "";
  return text.substr(0, text.size() - 1);
}

}  // namespace

absl::StatusOr<PythonEnvServer> PythonEnvServer::Start(
    const std::string& source_dir, const std::string& env,
    const std::string& work_dir, std::vector<std::string> extra,
    int timeout_ms) {
  std::filesystem::create_directories(work_dir);
  const std::string address_file = work_dir + "/env_server.addr";
  std::filesystem::remove(address_file);
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   source_dir + "/scripts/env_server.py",
                                   "--env",
                                   env,
                                   "--port",
                                   "0",
                                   "--address-file",
                                   address_file,
                                   "--log-file",
                                   work_dir + "/env_server.log"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  // Watch before starting: the rename cannot slip past.
  const int fd = ::inotify_init1(IN_CLOEXEC);
  if (fd < 0 ||
      ::inotify_add_watch(fd, work_dir.c_str(), IN_MOVED_TO | IN_CREATE) < 0) {
    if (fd >= 0) ::close(fd);
    return absl::InternalError("inotify on " + work_dir);
  }
  absl::StatusOr<cli::Process> p = cli::Process::Start(argv, /*quiet=*/false);
  if (!p.ok()) {
    ::close(fd);
    return p.status();
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::string address = ReadAddress(address_file); !address.empty()) {
      ::close(fd);
      return PythonEnvServer(*p, address, address_file);
    }
    if (std::optional<int> code = p->Poll(); code.has_value()) {
      ::close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat("env_server.py exited with status ", *code));
    }
    // Wakes on the address file's rename, or once a second to notice an
    // early exit.
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, 1000) > 0) {
      char events[4096];
      [[maybe_unused]] ssize_t n = ::read(fd, events, sizeof(events));
    }
  }
  ::close(fd);
  p->Signal(SIGKILL);
  p->Wait();
  return absl::FailedPreconditionError(absl::StrCat(
      "env_server.py did not write ", address_file, " in ", timeout_ms, " ms"));
}

PythonEnvServer::PythonEnvServer(PythonEnvServer&& other) noexcept
    : process_(other.process_),
      running_(other.running_),
      address_(std::move(other.address_)),
      address_file_(std::move(other.address_file_)) {
  other.running_ = false;
}

PythonEnvServer::~PythonEnvServer() {
  if (running_) Stop(SIGKILL);
}

int PythonEnvServer::Stop(int signal) {
  process_.Signal(signal);
  running_ = false;
  return process_.Wait();
}

}  // namespace lantern::testing
