#include "cli/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lantern::cli {

absl::StatusOr<Process> Process::Start(const std::vector<std::string>& argv,
                                       bool quiet) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent already died
    // Ctrl-C reaches the children through lantern run, in order.
    ::setpgid(0, 0);
    if (quiet) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return Process(pid);
}

void Process::Signal(int signal) const {
  if (!exit_.has_value()) ::kill(pid_, signal);
}

int Process::Decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::optional<int> Process::Poll() {
  if (exit_.has_value()) return exit_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_ = Decode(status);
  return exit_;
}

int Process::Wait() {
  while (!exit_.has_value()) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, 0);
    if (r == pid_) {
      exit_ = Decode(status);
    } else if (r < 0 && errno != EINTR) {
      exit_ = 1;
    }
  }
  return *exit_;
}

int RunToEnd(const std::vector<std::string>& argv) {
  absl::StatusOr<Process> p = Process::Start(argv, /*quiet=*/false);
  if (!p.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(p.status().message()).c_str());
    return 2;
  }
  return p->Wait();
}

}  // namespace lantern::cli
