#include "testing/local.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

namespace lantern::testing {
namespace {

// Whether `port` on 127.0.0.1 can be bound now (no SO_REUSEADDR: a port
// with a connection in TIME_WAIT counts as taken).
bool CanBind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int PickFreePort() {
  // The kernel gives outgoing connections their local port from this
  // range. A port picked from it could be taken by any client (another
  // test's, or one reconnecting to a server that is down, which can even
  // connect to itself) before the server binds or rebinds it, so the pick
  // is made below the range, or above it where nothing is left below.
  int low = 32768, high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  int first = 10000, last = low - 1;
  if (last - first < 1000) first = high + 1, last = 65535;
  if (last - first < 1000) first = 1024, last = 65535;
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(first, last);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = pick(random);
    if (CanBind(port)) return port;
  }
  return -1;
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) {
    output->append(buf, n);
  }
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace lantern::testing
