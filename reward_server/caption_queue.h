#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "reward_server/annotator.h"

namespace lantern::reward {

// Every query the server has ever received, and the backlog of those still
// waiting for the annotator. Deduplicates by exact bytes; serves the backlog
// newest-first; bounds it by dropping the oldest. Thread-safe.
//
// A query is in one state: pending (in the backlog), in flight (taken by a
// worker), or done (labelled, given up or dropped). Only pending queries are
// ever handed out, so no query reaches the annotator twice, except one whose
// attempt failed (it is put back).
class CaptionQueue {
 public:
  explicit CaptionQueue(size_t capacity);

  // Records `queries` that are new (never seen in any state) as known and
  // returns them, in order, without repeats; the caller stores them and then
  // calls Push. Known queries are ignored.
  std::vector<Query> AdmitNew(const std::vector<Query>& queries);

  // Undoes AdmitNew for queries that could not be stored.
  void Forget(const std::vector<Query>& queries);

  // Appends admitted (or restored) queries as the newest pending ones and
  // returns those dropped from the oldest end to stay within capacity.
  std::vector<Query> Push(std::vector<Query> queries);

  // Marks restored, already finished queries as known (at start-up).
  void MarkDone(const Query& query);

  // Blocks until a pending query exists (returns the newest) or `stop` is
  // requested or the queue is closed (nullopt).
  std::optional<Query> Take(std::stop_token stop);

  // A taken query is finished (labelled or given up).
  void Finish(const Query& query);
  // A taken query's attempt failed: it becomes the newest pending one again.
  void Requeue(Query query);

  // Wakes every Take; later Takes return nullopt at once.
  void Close();

  struct Counts {
    uint64_t known = 0;  // distinct queries ever received
    uint64_t pending = 0;
    uint64_t in_flight = 0;
    uint64_t dropped = 0;  // since start
    // Distinct queries handed out since start: a query put back after a
    // failed attempt and handed out again counts once.
    uint64_t asked = 0;
  };
  Counts counts() const;

  // The dedup key: exact bytes, a single caption differs from any pair.
  static std::string Key(const Query& query);

 private:
  enum class State { kPending, kInFlight, kDone };
  struct Entry {
    State state = State::kDone;
    bool asked = false;  // handed out at least once since start
  };

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::unordered_map<std::string, Entry> states_;
  std::deque<Query> pending_;  // oldest at the front
  uint64_t in_flight_ = 0;
  uint64_t dropped_ = 0;
  uint64_t asked_ = 0;
  bool closed_ = false;
};

}  // namespace lantern::reward
