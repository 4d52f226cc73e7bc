#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "lantern/v1/learner.grpc.pb.h"

namespace lantern::actor {

struct SenderCounters {
  uint64_t sent = 0;  // writes completed (resends included)
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t connects = 0;          // streams opened
  uint64_t stream_errors = 0;     // streams that ended with an error
  uint64_t retained_dropped = 0;  // forgotten uncommitted, over the bound
  uint64_t retained_resent = 0;   // to a new (or unknown) learner boot
  size_t unacked = 0;
  size_t retained = 0;  // acknowledged, not yet in a learner checkpoint
  size_t retained_bytes = 0;
};

// Delivers trajectories to the learner over one StreamTrajectories call at a
// time, pipelined (many writes before the first ack). Keeps every
// trajectory until the learner acknowledged it, and then until the
// learner's checkpoint holds it (Commit), up to `max_retained`. When the
// stream breaks it calls `reconnect` (which registers again) and resends
// the unacknowledged ones in order on a new stream; and, when the learner
// restarted (its boot id changed), the retained ones too: a learner that
// restarted from its checkpoint gets back what it lost. The stream carries
// the boot id registered with, and a learner with another one refuses it,
// so a restart between registering and streaming is seen too. The learner
// drops duplicates, so a resend is never accepted twice.
class TrajectorySender {
 public:
  // Called on the sender's thread before each stream: registers, and
  // returns the learner's boot id (RegisterActorResponse.learner_boot; 0
  // when unknown, which counts as a restart), or nothing to retry later
  // (with backoff).
  using Reconnect = std::function<std::optional<uint64_t>()>;

  TrajectorySender(std::shared_ptr<grpc::Channel> channel, size_t max_unacked,
                   size_t max_retained_bytes, Reconnect reconnect);
  ~TrajectorySender();

  // Queues `t` for delivery. Blocks while `max_unacked` trajectories await
  // their ack (that is how a slow or absent learner slows the actor).
  // Returns false, dropping `t`, once Stop() was called or `cancel` became
  // true. Thread-safe.
  bool Send(std::shared_ptr<const v1::Trajectory> t,
            const std::atomic<bool>& cancel);

  // Waits up to `timeout` until every trajectory queued so far is
  // acknowledged; false on timeout. Thread-safe.
  bool Flush(std::chrono::milliseconds timeout);

  // The learner's checkpoint holds every trajectory with a seq below
  // `committed_seq` (from its heartbeat answer): forgets those. Thread-safe.
  void Commit(uint64_t committed_seq);

  // Cancels the stream and ends the sender's thread. Idempotent.
  void Stop();

  SenderCounters Counters() const;

 private:
  class Stream;
  friend class Stream;

  void Loop(std::stop_token stop);
  // Require mu_.
  bool WriteReadyLocked() const;
  void WriteNextLocked();
  void OnAck(const v1::TrajectoryAck& ack);
  void OnStreamDone(const grpc::Status& status);

  const std::shared_ptr<v1::Learner::Stub> stub_;
  const size_t max_unacked_;
  const size_t max_retained_bytes_;
  const Reconnect reconnect_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::shared_ptr<const v1::Trajectory>> unacked_;
  // Acknowledged, not yet committed; in the order acknowledged.
  std::deque<std::shared_ptr<const v1::Trajectory>> retained_;
  size_t retained_bytes_ = 0;
  uint64_t committed_seq_ = 0;
  uint64_t learner_boot_ = 0;  // of the learner of the last stream
  size_t next_write_ = 0;      // index into unacked_ for the current stream
  Stream* stream_ = nullptr;
  bool stream_done_ = true;
  bool stopping_ = false;
  SenderCounters counters_;
  std::jthread thread_;
};

}  // namespace lantern::actor
