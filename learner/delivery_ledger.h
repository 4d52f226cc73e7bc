#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace lantern::learner {

// Which sequence numbers have been accepted from each actor incarnation,
// kept compactly: everything below `next` plus a sparse set above it.
// Not thread-safe: the owner locks.
class DeliveryLedger {
 public:
  bool Contains(uint64_t incarnation, uint64_t seq) const;

  // Records `seq`; returns false if it was already there.
  bool Add(uint64_t incarnation, uint64_t seq);

  // Removes `seq` (used to undo an Add when the item could not be queued).
  void Remove(uint64_t incarnation, uint64_t seq);

  // Every seq below this one is recorded for `incarnation` (0 if none).
  uint64_t Prefix(uint64_t incarnation) const;

  // Sequence numbers below the highest accepted one that are missing.
  uint64_t Gaps() const;
  uint64_t Size() const { return size_; }

  // A compact text form for checkpoints, and its inverse.
  std::string Serialize() const;
  static absl::StatusOr<DeliveryLedger> Parse(const std::string& text);

 private:
  struct Entry {
    uint64_t next = 0;         // every seq < next is accepted
    std::set<uint64_t> above;  // accepted seqs > next
  };
  std::map<uint64_t, Entry> entries_;
  uint64_t size_ = 0;
};

}  // namespace lantern::learner
