#pragma once

// A learner's front end on 127.0.0.1 for tests: Ingest, VersionPublisher and
// LearnerService behind a real gRPC server. Shared by the tests of the
// service's limits and of the actor's sender against a learner that dies.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/grpc_util.h"
#include "common/version_publisher.h"
#include "learner/ingest.h"
#include "learner/learner_service.h"
#include "tests/learner/test_trajectories.h"

namespace lantern::learner::test {

class FrontEnd {
 public:
  // `port` 0 picks a free one. `restored`: the ledger of a checkpoint the
  // learner resumes from.
  explicit FrontEnd(int port = 0, const ServiceLimits& limits = {},
                    const DeliveryLedger* restored = nullptr,
                    size_t capacity = 64)
      : ingest_(TestSpec(), capacity),
        publisher_(1 << 16),
        service_(
            &ingest_, &publisher_, [] { return v1::LearnerStatus(); }, limits) {
    if (restored != nullptr) ingest_.Restore(*restored);
    absl::StatusOr<common::StartedServer> started = common::StartServer(
        "127.0.0.1:" + std::to_string(port), {&service_}, 64 << 20);
    if (started.ok()) {
      server_ = std::move(started->server);
      port_ = started->port;
    }
  }
  ~FrontEnd() { Kill(); }

  // Ends every call at once, as a dying process would.
  void Kill() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
    ingest_.Close();
  }

  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool serving() const { return server_ != nullptr; }
  int port() const { return port_; }
  Ingest& ingest() { return ingest_; }
  LearnerService& service() { return service_; }

 private:
  Ingest ingest_;
  common::VersionPublisher publisher_;
  LearnerService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace lantern::learner::test
