#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>

#include "lantern/v1/learner.grpc.pb.h"
#include "learner/actor_registry.h"
#include "learner/ingest.h"

namespace lantern::learner {

// Server side of one actor's StreamTrajectories call. Reads a trajectory,
// offers it to the Ingest, answers with an ack, and reads the next one only
// once the trajectory found room in the queue (back pressure) and the acks
// are not piling up. Deletes itself in OnDone. Callbacks never block.
class TrajectoryStream
    : public grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck> {
 public:
  struct Counters {
    std::atomic<uint64_t> cancelled{0};  // the actor left or the link broke
    ActorRegistry* actors = nullptr;     // told of each accepted trajectory
  };
  TrajectoryStream(Ingest* ingest, Counters* counters);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Lets the Ingest call back a parked stream safely even while it ends.
  struct Parked {
    std::mutex mu;
    TrajectoryStream* stream = nullptr;
  };

  void Offer();
  void StartNextRead();  // requires mu_
  void QueueAck(const v1::Trajectory& t, v1::TrajectoryAck::Status status,
                const absl::Status& reason);
  void MaybeWriteOrFinish();  // requires mu_

  static constexpr size_t kMaxPendingAcks = 64;

  Ingest* const ingest_;
  Counters* const counters_;
  const std::shared_ptr<Parked> parked_;

  std::mutex mu_;
  std::unique_ptr<v1::Trajectory> incoming_;
  std::deque<v1::TrajectoryAck> acks_;
  v1::TrajectoryAck writing_;
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool reads_done_ = false;
  bool reads_paused_ = false;
  bool closing_ = false;  // the learner stops: finish after pending acks
  bool cancelled_ = false;
  bool finished_ = false;
};

}  // namespace lantern::learner
