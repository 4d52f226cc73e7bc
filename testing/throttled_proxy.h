#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lantern::testing {

// A TCP relay on 127.0.0.1 that forwards each accepted connection to
// `target` ("host:port") and limits the client-to-target direction to
// `bytes_per_s` (the other direction is not limited): a slow network
// between an actor and its learner, for benchmarks and tests.
class ThrottledProxy {
 public:
  ThrottledProxy(const std::string& target, double bytes_per_s);
  ~ThrottledProxy();  // closes every connection

  // "127.0.0.1:<port>" to dial instead of the target.
  std::string address() const;

  // Breaks every connection open now, as a network blip would; later ones
  // are relayed as before.
  void Cut();

 private:
  void Accept(std::stop_token stop);
  void Pump(int from, int to, double bytes_per_s, std::stop_token stop);

  std::string target_host_;
  int target_port_ = 0;
  const double bytes_per_s_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::jthread> pumps_;
  std::jthread acceptor_;
};

}  // namespace lantern::testing
