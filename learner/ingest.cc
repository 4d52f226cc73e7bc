#include "learner/ingest.h"

namespace lantern::learner {

Ingest::Ingest(const TrajectorySpec& spec, size_t capacity)
    : spec_(spec), queue_(capacity) {}

Ingest::Outcome Ingest::Offer(Item& item, absl::Status* reason,
                              std::function<void()> on_room) {
  {
    // A resend of what the learner has (after a reconnect) is common and
    // needs no validation.
    std::lock_guard lock(mu_);
    if (accepted_.Contains(item->incarnation(), item->seq())) {
      ++counters_.duplicates;
      return Outcome::kDuplicate;
    }
  }
  // Validation is pure and the costliest part: do it outside the lock.
  absl::Status valid = ValidateTrajectory(*item, spec_);
  std::lock_guard lock(mu_);
  if (!valid.ok()) {
    ++counters_.rejected;
    ++counters_.rejected_by_reason[RejectionKind(valid)];
    *reason = valid;
    return Outcome::kRejected;
  }
  const uint64_t inc = item->incarnation();
  const uint64_t seq = item->seq();
  if (accepted_.Contains(inc, seq)) {
    ++counters_.duplicates;
    return Outcome::kDuplicate;
  }
  absl::Status pushed = queue_.TryPush(item);
  if (absl::IsResourceExhausted(pushed)) {
    waiters_.push_back(std::move(on_room));
    return Outcome::kFull;
  }
  if (!pushed.ok()) return Outcome::kClosed;
  accepted_.Add(inc, seq);
  ++counters_.accepted;
  return Outcome::kAccepted;
}

std::vector<Ingest::Item> Ingest::PopBatch(size_t n,
                                           std::chrono::milliseconds timeout) {
  std::vector<Item> items = queue_.PopBatch(n, n, timeout);
  if (!items.empty()) WakeWaiters();
  return items;
}

void Ingest::MarkConsumed(const std::vector<Item>& items) {
  std::lock_guard lock(mu_);
  for (const Item& t : items) {
    if (!consumed_.Add(t->incarnation(), t->seq())) {
      ++counters_.consumed_twice;
    }
  }
  counters_.consumed += items.size();
}

void Ingest::Settle(uint64_t incarnation, uint64_t seq) {
  std::lock_guard lock(mu_);
  if (accepted_.Add(incarnation, seq)) consumed_.Add(incarnation, seq);
}

void Ingest::WakeWaiters() {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    waiters.swap(waiters_);
  }
  // Outside the lock: a waiter offers again, which takes the lock.
  for (auto& w : waiters) w();
}

void Ingest::Restore(DeliveryLedger consumed) {
  std::lock_guard lock(mu_);
  accepted_ = consumed;
  committed_ = consumed;
  consumed_ = std::move(consumed);
}

DeliveryLedger Ingest::ConsumedLedger() const {
  std::lock_guard lock(mu_);
  return consumed_;
}

void Ingest::Committed(DeliveryLedger ledger) {
  std::lock_guard lock(mu_);
  committed_ = std::move(ledger);
}

uint64_t Ingest::CommittedPrefix(uint64_t incarnation) const {
  std::lock_guard lock(mu_);
  return committed_.Prefix(incarnation);
}

IngestCounters Ingest::Counters() const {
  std::lock_guard lock(mu_);
  IngestCounters c = counters_;
  c.queue_depth = queue_.size();
  c.gaps = accepted_.Gaps();
  c.in_ledger = accepted_.Size();
  return c;
}

void Ingest::Close() {
  queue_.Close();
  WakeWaiters();
}

}  // namespace lantern::learner
