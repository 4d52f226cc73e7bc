#include "actor/envs/nethack/pty_game.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace lantern::actor::nethack {
namespace {

// The fd on which the shim writes its marker (NH_MARKER_FD).
constexpr int kMarkerFd = 100;

[[noreturn]] void Throw(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void SetLimit(int resource, uint64_t value) {
  const rlimit limit{.rlim_cur = value, .rlim_max = value};
  setrlimit(resource, &limit);
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void Child(const Launch& launch, const char* slave_path,
                        int marker_write, pid_t parent, char* const* argv,
                        char* const* envp) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  if (setsid() < 0) _exit(126);
  const int slave = open(slave_path, O_RDWR);
  if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) _exit(126);
  for (int fd = 0; fd < 3; ++fd) dup2(slave, fd);
  if (marker_write >= 0) dup2(marker_write, kMarkerFd);
  close_range(3, kMarkerFd - 1, 0);
  close_range(kMarkerFd + 1, ~0u, 0);
  SetLimit(RLIMIT_AS, launch.max_address_space);
  SetLimit(RLIMIT_FSIZE, launch.max_file_size);
  SetLimit(RLIMIT_CPU, launch.max_cpu_s);
  SetLimit(RLIMIT_CORE, 0);
  SetLimit(RLIMIT_NOFILE, 256);
  if (chdir(launch.dir.c_str()) < 0) _exit(126);
  if (launch.gid >= 0 &&
      (setgroups(0, nullptr) < 0 || setgid(launch.gid) < 0)) {
    _exit(126);
  }
  if (launch.uid >= 0 && setuid(launch.uid) < 0) _exit(126);
  // After the identity change, which clears it; then make sure the parent
  // did not die before the signal was armed.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);
  execve(argv[0], argv, envp);
  _exit(127);
}

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

void PtyGame::Start(const Launch& launch) {
  Kill();
  completion_ = launch.completion;
  master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master_ < 0) Throw("posix_openpt");
  char slave_path[64];
  if (grantpt(master_) < 0 || unlockpt(master_) < 0 ||
      ptsname_r(master_, slave_path, sizeof slave_path) != 0) {
    Throw("pseudo-terminal");
  }
  const winsize size{.ws_row = Screen::kRows,
                     .ws_col = Screen::kCols,
                     .ws_xpixel = 0,
                     .ws_ypixel = 0};
  ioctl(master_, TIOCSWINSZ, &size);
  int pipe_fds[2] = {-1, -1};
  if (completion_ == Completion::kShim && pipe2(pipe_fds, O_CLOEXEC) < 0) {
    Throw("pipe2");
  }
  // argv and envp are built before fork: the child may not allocate.
  std::vector<char*> argv = {const_cast<char*>(launch.binary.c_str()), nullptr};
  std::vector<char*> envp;
  for (const std::string& e : launch.env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  static const std::string kMarkerVariable =
      "NH_MARKER_FD=" + std::to_string(kMarkerFd);
  if (completion_ == Completion::kShim) {
    envp.push_back(const_cast<char*>(kMarkerVariable.c_str()));
  }
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) Throw("fork");
  if (pid == 0) {
    Child(launch, slave_path, pipe_fds[1], parent, argv.data(), envp.data());
  }
  pid_ = pid;
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  marker_ = pipe_fds[0];
  fcntl(master_, F_SETFL, fcntl(master_, F_GETFL) | O_NONBLOCK);
  if (marker_ >= 0)
    fcntl(marker_, F_SETFL, fcntl(marker_, F_GETFL) | O_NONBLOCK);
  calls_at_send_ = 0;
}

bool PtyGame::Send(char key) {
  if (pid_ <= 0) return false;
  if (completion_ == Completion::kProc) calls_at_send_ = ReadCalls();
  for (;;) {
    const ssize_t n = write(master_, &key, 1);
    if (n == 1) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

bool PtyGame::Drain(Screen& screen) {
  char buf[8192];
  for (;;) {
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n > 0) {
      screen.Feed(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // EIO: the game closed the terminal (it exited)
  }
}

Wait PtyGame::WaitForInput(Screen& screen, int timeout_ms) {
  if (pid_ <= 0) return Wait::kExited;
  return completion_ == Completion::kShim ? WaitShim(screen, timeout_ms)
                                          : WaitProc(screen, timeout_ms);
}

Wait PtyGame::WaitShim(Screen& screen, int timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    pollfd fds[2] = {{.fd = master_, .events = POLLIN, .revents = 0},
                     {.fd = marker_, .events = POLLIN, .revents = 0}};
    const int left = timeout_ms - int(ElapsedMs(start));
    if (left <= 0) return Wait::kTimeout;
    const int r = poll(fds, 2, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0 ? Wait::kTimeout : Wait::kExited;
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !Drain(screen)) {
      return Wait::kExited;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char markers[64];
      const ssize_t n = read(marker_, markers, sizeof markers);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      // The game writes its output before the marker: take all of it.
      const bool open = Drain(screen);
      if (n <= 0 || !open) return Wait::kExited;  // pipe EOF: it exited
      return Wait::kReady;
    }
  }
}

Wait PtyGame::WaitProc(Screen& screen, int timeout_ms) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    pollfd fd{.fd = master_, .events = POLLIN, .revents = 0};
    const timespec slice{.tv_sec = 0, .tv_nsec = 50'000};
    const int r = ppoll(&fd, 1, &slice, nullptr);
    if (r > 0 && !Drain(screen)) return Wait::kExited;
    // syscr first, then the syscall: a read that started after the key and
    // is now blocked on the terminal means the key was handled.
    const int64_t calls = ReadCalls();
    if (calls < 0) return Wait::kExited;
    if (calls > calls_at_send_ && BlockedOnTerminal()) {
      return Drain(screen) ? Wait::kReady : Wait::kExited;
    }
    if (ElapsedMs(start) >= timeout_ms) return Wait::kTimeout;
  }
}

bool PtyGame::ReadProc(const char* name, char* buf, size_t size) const {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/%s", int(pid_), name);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

int64_t PtyGame::ReadCalls() const {
  char buf[512];
  if (!ReadProc("io", buf, sizeof buf)) return -1;
  const char* at = std::strstr(buf, "syscr: ");
  return at == nullptr ? -1 : std::strtoll(at + 7, nullptr, 10);
}

bool PtyGame::BlockedOnTerminal() const {
  char buf[128];
  return ReadProc("syscall", buf, sizeof buf) &&
         std::strncmp(buf, "0 0x0 ", 6) == 0;  // read(0, ...)
}

void PtyGame::Kill() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (master_ >= 0) close(master_);
  if (marker_ >= 0) close(marker_);
  master_ = -1;
  marker_ = -1;
}

}  // namespace lantern::actor::nethack
