#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>

#include "common/timer_queue.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "learner/actor_registry.h"
#include "learner/ingest.h"

namespace lantern::learner {

// Server side of one actor's StreamTrajectories call. Reads a trajectory,
// offers it to the Ingest, answers with an ack, and reads the next one only
// once the trajectory found room in the queue (back pressure), the acks
// are not piling up, and the stream is within its rate (a faster one's
// next read waits on the timer). Deletes itself in OnDone. Callbacks never
// block.
class TrajectoryStream
    : public grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck> {
 public:
  // Shared by the streams of one service.
  struct Counters {
    std::atomic<uint64_t> cancelled{0};   // the actor left or the link broke
    std::atomic<uint64_t> throttled{0};   // reads delayed by the rate limit
    std::atomic<int64_t> open{0};         // streams not yet done
    ActorRegistry* actors = nullptr;      // told of each accepted trajectory
    double max_per_s = 5000;              // reads per second per stream
    common::TimerQueue* timer = nullptr;  // runs delayed reads
  };
  // The caller counted it in `counters->open`; OnDone uncounts it.
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
  // Requires mu_. Reads now if the stream is within its rate, else asks
  // the timer to call ResumeRead when the next read is due.
  void StartNextRead();
  void ResumeRead();
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
  bool timer_pending_ = false;  // a throttled read waits on the timer
  // Token bucket: up to one second's worth of reads in a burst.
  double tokens_;
  common::TimerQueue::Clock::time_point refilled_;
};

}  // namespace lantern::learner
