#pragma once

#include <atomic>
#include <functional>

#include "absl/status/statusor.h"
#include "common/version_publisher.h"
#include "lantern/v1/reward.grpc.pb.h"
#include "reward_server/annotator.h"

namespace lantern::reward {

class LabelBook;
class ModelTrainer;

// Limits on one SubmitCaptions request, enforced before anything is stored.
inline constexpr int kMaxQueriesPerSubmit = 4096;
inline constexpr size_t kMaxCaptionBytes = 4096;

// The queries of a SubmitCaptions request, or INVALID_ARGUMENT naming the
// first problem (too many, empty or oversized captions).
absl::StatusOr<std::vector<Query>> QueriesFrom(
    const v1::SubmitCaptionsRequest& request);

// The reward server's gRPC service (callback API). Holds no state of its
// own beyond counters: submissions go to the LabelBook (acknowledged only
// once stored), scores and models come from the ModelTrainer.
class RewardService final : public v1::RewardServer::CallbackService {
 public:
  RewardService(LabelBook* book, ModelTrainer* trainer,
                common::VersionPublisher* publisher,
                std::function<v1::RewardStatus()> status);

  uint64_t rejected() const { return rejected_.load(); }

  grpc::ServerUnaryReactor* SubmitCaptions(
      grpc::CallbackServerContext* context,
      const v1::SubmitCaptionsRequest* request,
      v1::SubmitCaptionsResponse* response) override;

  grpc::ServerWriteReactor<v1::VersionChunk>* WatchRewardModel(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;

  grpc::ServerUnaryReactor* ScoreCaptions(
      grpc::CallbackServerContext* context,
      const v1::ScoreCaptionsRequest* request,
      v1::ScoreCaptionsResponse* response) override;

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::RewardStatusRequest* request,
                                      v1::RewardStatus* response) override;

 private:
  LabelBook* const book_;
  ModelTrainer* const trainer_;
  common::VersionPublisher* const publisher_;
  const std::function<v1::RewardStatus()> status_;
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace lantern::reward
