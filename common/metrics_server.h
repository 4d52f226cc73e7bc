#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace lantern::common {

// Serves GET /metrics (Prometheus text format) over HTTP from one thread of
// its own; `render` builds the page and is called on that thread.
class MetricsServer {
 public:
  // Listens on `listen` ("host:port"; port 0 picks a free one).
  // UNAVAILABLE naming the address if it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen, std::function<std::string()> render);
  ~MetricsServer();  // stops serving; removes the address file, if any

  int port() const { return port_; }

 private:
  MetricsServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  const int port_;
  std::string addr_file_;
  std::jthread thread_;

  friend std::unique_ptr<MetricsServer> StartRoleMetrics(
      const std::string&, const std::string&, const std::string&,
      std::function<std::string()>);
};

// Starts the role's metrics server when `listen` is not empty and records
// its address in <metrics dir>/<name>.addr while it serves (scrapers of a
// local run and the tests read it). Returns null when off; logs and returns
// null when it cannot start (metrics never stop training).
std::unique_ptr<MetricsServer> StartRoleMetrics(
    const std::string& listen, const std::string& metrics_dir,
    const std::string& name, std::function<std::string()> render);

}  // namespace lantern::common
