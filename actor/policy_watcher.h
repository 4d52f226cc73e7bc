#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "lantern/v1/learner.grpc.pb.h"

namespace lantern::actor {

// Follows the learner's policy versions: keeps one WatchPolicy call open,
// reassembles each version's chunks and hands complete weights to
// `on_weights`; reopens the call with capped backoff when it breaks (e.g.
// while the learner restarts).
class PolicyWatcher {
 public:
  using Callback =
      std::function<void(std::shared_ptr<const v1::PolicyWeights>)>;

  // Starts watching at once. `on_weights` runs on a gRPC thread and must not
  // block for long.
  PolicyWatcher(std::shared_ptr<grpc::Channel> channel, Callback on_weights);
  ~PolicyWatcher();

  // Ends the call and the thread. Idempotent.
  void Stop();

  int64_t versions_received() const;

 private:
  class Call;

  void Loop(std::stop_token stop);
  void OnChunk(const v1::PolicyChunk& chunk);  // from the Call

  const std::shared_ptr<v1::Learner::Stub> stub_;
  const Callback on_weights_;

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

}  // namespace lantern::actor
