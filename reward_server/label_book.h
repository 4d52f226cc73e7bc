#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "reward_server/annotation_pool.h"
#include "reward_server/caption_queue.h"
#include "reward_server/store/label_store.h"

namespace lantern::reward {

// The reward server's books: which queries it has (CaptionQueue) and what
// became of them (LabelStore). A submission is acknowledged once its new
// queries are stored as pending; an outcome's label is stored before anyone
// sees it (group commit: one transaction per burst of outcomes). On start it
// resumes the stored pending queries and reloads every label. Thread-safe.
class LabelBook {
 public:
  using OnLabels = std::function<void(const std::vector<LabelRecord>&)>;

  // Opens the store at `path` and rebuilds the queue from it.
  static absl::StatusOr<std::unique_ptr<LabelBook>> Open(
      const std::string& path, size_t backlog_capacity,
      std::string annotator_kind);
  ~LabelBook();

  // Every label stored before this process started, in the order stored.
  const std::vector<LabelRecord>& restored_labels() const {
    return restored_labels_;
  }

  CaptionQueue* queue() { return &queue_; }

  // Starts the writer; `on_labels` gets each committed burst of labels.
  void Start(OnLabels on_labels);
  // Stores what is left and stops the writer. Idempotent.
  void Stop();

  struct Submitted {
    size_t added = 0;  // new queries, now stored as pending
    size_t known = 0;
  };
  absl::StatusOr<Submitted> Submit(const std::vector<Query>& queries);

  // Called by the annotation workers; the writer stores it.
  void Record(Outcome outcome);

  // The stored label of a single caption, if any.
  std::optional<Label> StoredLabel(const std::string& caption) const;

  struct Stats {
    uint64_t queries_total = 0;
    uint64_t labels_total = 0;
    uint64_t pending = 0;
    uint64_t in_flight = 0;
    uint64_t dropped = 0;          // since start
    uint64_t asked = 0;            // distinct queries handed to the annotator
    uint64_t given_up = 0;         // since start
    uint64_t failed_attempts = 0;  // annotator errors, queries put back
    uint64_t store_errors = 0;
    uint64_t resumed = 0;  // pending queries restored at start
    double latency_p50_ms = 0;
    double latency_p99_ms = 0;
    std::map<std::string, uint64_t> label_counts;
  };
  Stats stats() const;

 private:
  LabelBook(std::unique_ptr<LabelStore> store, size_t backlog_capacity,
            std::string annotator_kind);

  absl::Status Restore();
  void WriteLoop(std::stop_token stop);
  void Write(std::vector<Outcome> outcomes);
  void StoreLabels(std::vector<LabelRecord> records);

  const std::unique_ptr<LabelStore> store_;
  const std::string annotator_kind_;
  CaptionQueue queue_;
  std::vector<LabelRecord> restored_labels_;
  OnLabels on_labels_;
  std::mutex submit_mu_;  // one submission at a time: admit, store, push

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::vector<Outcome> outbox_;  // waiting for the writer
  std::unordered_map<std::string, Label> single_labels_;
  std::vector<double> latencies_ms_;  // ring of the latest
  size_t latency_next_ = 0;
  Stats stats_;
  std::jthread writer_;
};

}  // namespace lantern::reward
