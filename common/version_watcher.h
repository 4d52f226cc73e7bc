#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lantern/v1/tensor.pb.h"

namespace lantern::common {

// Follows a server's versions of something published by a VersionPublisher
// (the learner's policy, the reward server's reward model): keeps one watch
// call open, reassembles each version's chunks and hands the complete bytes
// to `on_version`; reopens the call with capped backoff when it breaks
// (e.g. while the server restarts).
class VersionWatcher {
 public:
  // Starts the RPC, e.g.
  //   [stub](auto* ctx, auto* req, auto* reactor) {
  //     stub->async()->WatchPolicy(ctx, req, reactor); }
  using StartCall =
      std::function<void(grpc::ClientContext*, const v1::WatchRequest*,
                         grpc::ClientReadReactor<v1::VersionChunk>*)>;
  // Gets one complete version. Runs on a gRPC thread: must not block for
  // long. Returns false when the bytes do not parse (the version is then
  // not counted as known, and the next one is awaited).
  using Callback = std::function<bool(int64_t version, std::string bytes)>;

  // Starts watching at once. `what` names it in log lines.
  VersionWatcher(std::string what, StartCall start_call, Callback on_version);
  ~VersionWatcher();

  // Ends the call and the thread. Idempotent.
  void Stop();

  int64_t versions_received() const;

 private:
  class Call;

  void Loop(std::stop_token stop);
  void OnChunk(const v1::VersionChunk& chunk);  // from the Call

  const std::string what_;
  const StartCall start_call_;
  const Callback on_version_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool call_done_ = true;
  int64_t known_version_ = -1;
  int64_t versions_received_ = 0;
  int64_t assembling_version_ = -1;
  std::string assembled_;
  int next_chunk_ = 0;
  std::jthread thread_;
};

}  // namespace lantern::common
