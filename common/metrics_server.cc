#include "common/metrics_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>

#include "common/files.h"
#include "common/grpc_util.h"

namespace lantern::common {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen, std::function<std::string()> render) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("metrics address '" + listen +
                                      "' is not host:port");
  }
  const std::string host = listen.substr(0, colon);
  auto server = std::make_unique<httplib::Server>();
  // One worker: a scrape is rare and cheap; the default pool would add a
  // thread per core to every process.
  server->new_task_queue = [] { return new httplib::ThreadPool(1); };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a
  // second process (a stale role) would silently share the port.
  server->set_socket_options([](int sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->Get("/metrics", [render = std::move(render)](const httplib::Request&,
                                                       httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (port == 0) {
    port = server->bind_to_any_port(host);
  } else if (!server->bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError("cannot listen for /metrics on " + listen);
  }
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(server), port));
}

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {
  thread_ = std::jthread([this] { server_->listen_after_bind(); });
  // stop() does nothing before the loop runs: wait for it, so that a server
  // destroyed at once still ends.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

MetricsServer::~MetricsServer() {
  server_->stop();
  thread_.join();
  if (!addr_file_.empty()) {
    std::error_code ec;
    std::filesystem::remove(addr_file_, ec);
  }
}

std::unique_ptr<MetricsServer> StartRoleMetrics(
    const std::string& listen, const std::string& metrics_dir,
    const std::string& name, std::function<std::string()> render) {
  if (listen.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start(listen, std::move(render));
  if (!server.ok()) {
    spdlog::error("no /metrics: {}", server.status().ToString());
    return nullptr;
  }
  const std::string address = DialAddress(listen, (*server)->port());
  std::error_code ec;
  std::filesystem::create_directories(metrics_dir, ec);
  const std::string addr_file = metrics_dir + "/" + name + ".addr";
  if (absl::Status st = WriteFileAtomic(addr_file, address + "\n"); !st.ok()) {
    spdlog::warn("{}", st.ToString());
  } else {
    (*server)->addr_file_ = addr_file;
  }
  spdlog::info("Prometheus metrics at http://{}/metrics", address);
  return *std::move(server);
}

}  // namespace lantern::common
