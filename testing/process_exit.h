#pragma once

// Header-only, so that light test binaries need not link lantern_testing.

#include <poll.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>

namespace lantern::testing {

// Blocks until process `pid` (any process, not only a child) has exited, up
// to `timeout_ms`; true when it has (or was already gone). Uses a pidfd, so
// it wakes on the exit itself, without polling.
inline bool WaitForProcessExit(pid_t pid, int timeout_ms) {
  const int fd = int(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  const bool exited = poll(&p, 1, timeout_ms) == 1;
  close(fd);
  return exited;
}

}  // namespace lantern::testing
