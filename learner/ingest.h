#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/bounded_queue.h"
#include "lantern/v1/learner.pb.h"
#include "learner/delivery_ledger.h"
#include "learner/trajectory_spec.h"

namespace lantern::learner {

struct IngestCounters {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t consumed = 0;
  uint64_t consumed_twice = 0;  // a bug if ever non-zero
  uint64_t gaps = 0;
  // Distinct trajectories accepted over the whole run: the restored
  // checkpoint's and this process's.
  uint64_t in_ledger = 0;
  size_t queue_depth = 0;
  std::map<std::string, uint64_t> rejected_by_reason;
};

// The learner's front door: validates trajectories, drops duplicates by
// (incarnation, seq), and queues the rest in a bounded queue. A full queue
// is back pressure: the offer is refused and the offerer is called back once
// a consumer has made room, so no gRPC callback ever blocks.
// Thread-safe.
class Ingest {
 public:
  using Item = std::unique_ptr<v1::Trajectory>;
  enum class Outcome { kAccepted, kDuplicate, kRejected, kFull, kClosed };

  Ingest(const TrajectorySpec& spec, size_t capacity);

  // Validates and queues `item`. On kAccepted the item is moved out; on
  // kRejected `reason` says why; on kFull the item stays with the caller and
  // `on_room` is called exactly once, later, from a consumer thread (it may
  // call Offer again); on kClosed (after Close()) nothing was decided about
  // the item: it must be offered to the next learner. Never blocks.
  Outcome Offer(Item& item, absl::Status* reason,
                std::function<void()> on_room);

  // Waits up to `timeout` for `n` trajectories and takes up to `n` (fewer on
  // timeout or close). Wakes parked offerers.
  std::vector<Item> PopBatch(size_t n, std::chrono::milliseconds timeout);

  // Records trajectories as consumed: trained on, or deliberately dropped.
  // Only consumed ones go into the checkpoint's ledger, so a trajectory that
  // was popped but not yet used when the learner stopped is not remembered.
  void MarkConsumed(const std::vector<Item>& items);

  // Settles a rejected trajectory of a registered actor for good: it goes
  // into the ledgers as if consumed, so the actor's committed prefix moves
  // past it (its resends are rejected again). Not for unknown senders,
  // whose made-up sequence numbers would only grow the ledger.
  void Settle(uint64_t incarnation, uint64_t seq);

  // Restores what was consumed before a restart (from a checkpoint): those
  // trajectories count as duplicates if they arrive again.
  void Restore(DeliveryLedger consumed);

  // The consumed-ledger, for checkpoints.
  DeliveryLedger ConsumedLedger() const;

  // Records `ledger` as what the last checkpoint holds (after it was saved,
  // or restored).
  void Committed(DeliveryLedger ledger);

  // Every trajectory of `incarnation` with a seq below this is in the last
  // checkpoint: its actor may forget it.
  uint64_t CommittedPrefix(uint64_t incarnation) const;

  IngestCounters Counters() const;
  const TrajectorySpec& spec() const { return spec_; }

  // Ends the queue: offers answer kClosed, PopBatch drains then returns
  // empty.
  void Close();

 private:
  void WakeWaiters();

  const TrajectorySpec spec_;
  common::BoundedQueue<Item> queue_;
  mutable std::mutex mu_;
  DeliveryLedger accepted_;
  DeliveryLedger consumed_;
  DeliveryLedger committed_;
  IngestCounters counters_;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace lantern::learner
