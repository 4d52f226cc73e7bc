#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/security.h"

namespace lantern::common {

// The HTTP/2 flow-control window of each stream a server reads: what the
// transport may buffer for a stream the application is not reading.
inline constexpr int kStreamWindowBytes = 1 << 20;

// Client metadata of a StreamTrajectories call: the learner boot id
// (RegisterActorResponse.learner_boot) the actor registered with, in
// decimal. A learner with another boot id refuses the stream (ABORTED), so
// an actor never takes a learner that restarted after its registration for
// the one it registered with.
inline constexpr char kLearnerBootMetadata[] = "lantern-learner-boot";

// A channel to `address` (host:port) that reconnects by itself with capped
// exponential backoff (0.1 s .. `max_backoff_ms`) and accepts messages up to
// `max_message_bytes`; TLS and the bearer token as `security` says. Never
// blocks.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           int max_message_bytes,
                                           const Security& security = {},
                                           int max_backoff_ms = 2000);

struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the bound port (the picked one when asked for port 0)
};

// Starts a server on `address` ("host:port"; port 0 picks a free one) with
// the given services and message size limit, TLS and token check as
// `security` says. UNAVAILABLE if it cannot bind.
absl::StatusOr<StartedServer> StartServer(
    const std::string& address, const std::vector<grpc::Service*>& services,
    int max_message_bytes, const Security& security = {});

// Splits "host:port" and replaces the port; used to turn "0.0.0.0:0" with a
// picked port into an address a client can dial.
std::string DialAddress(const std::string& listen_address, int port);

}  // namespace lantern::common
