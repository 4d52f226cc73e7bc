#include "testing/throttled_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace lantern::testing {
namespace {

int Listen(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

int Connect(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  ::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(),
              &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Waits up to 100 ms for `fd` to be readable; false on timeout.
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 100) > 0;
}

}  // namespace

ThrottledProxy::ThrottledProxy(const std::string& target, double bytes_per_s)
    : bytes_per_s_(bytes_per_s) {
  const size_t colon = target.rfind(':');
  target_host_ = target.substr(0, colon);
  target_port_ = std::stoi(target.substr(colon + 1));
  listen_fd_ = Listen(&port_);
  acceptor_ = std::jthread([this](std::stop_token stop) { Accept(stop); });
}

ThrottledProxy::~ThrottledProxy() {
  acceptor_.request_stop();
  acceptor_.join();
  Cut();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void ThrottledProxy::Cut() {
  std::vector<std::jthread> pumps;
  std::vector<int> fds;
  {
    std::lock_guard lock(mu_);
    pumps.swap(pumps_);
    fds.swap(fds_);
  }
  for (std::jthread& t : pumps) t.request_stop();
  // Unblocks a pump stuck in send().
  for (int fd : fds) ::shutdown(fd, SHUT_RDWR);
  pumps.clear();  // joins
  for (int fd : fds) ::close(fd);
}

std::string ThrottledProxy::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void ThrottledProxy::Accept(std::stop_token stop) {
  while (!stop.stop_requested() && listen_fd_ >= 0) {
    if (!Readable(listen_fd_)) continue;
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    const int server = Connect(target_host_, target_port_);
    if (server < 0) {
      ::close(client);
      continue;
    }
    std::lock_guard lock(mu_);
    fds_.insert(fds_.end(), {client, server});
    pumps_.emplace_back([this, client, server](std::stop_token s) {
      Pump(client, server, bytes_per_s_, s);
    });
    pumps_.emplace_back([this, client, server](std::stop_token s) {
      Pump(server, client, 0, s);
    });
  }
}

void ThrottledProxy::Pump(int from, int to, double bytes_per_s,
                          std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  double sent = 0;
  // Small reads keep the rate smooth: a 4 KiB chunk at 100 KB/s is 40 ms.
  char buf[4096];
  while (!stop.stop_requested()) {
    if (!Readable(from)) continue;
    const ssize_t n = ::read(from, buf, sizeof(buf));
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      // send, not write: a peer gone after a Cut must not raise SIGPIPE
      // in the test process.
      const ssize_t w = ::send(to, buf + off, size_t(n - off), MSG_NOSIGNAL);
      if (w <= 0) return;
      off += w;
    }
    sent += double(n);
    if (bytes_per_s > 0) {
      // Sleep until the bytes so far fit the rate.
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(sent / bytes_per_s)));
    }
  }
  ::shutdown(to, SHUT_WR);
}

}  // namespace lantern::testing
