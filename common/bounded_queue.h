#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace lantern::common {

// A closable, bounded multi-producer multi-consumer FIFO queue.
// All methods are thread-safe. After Close(), Push fails with
// FAILED_PRECONDITION and pops drain what is left, then report CANCELLED.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while the queue is full. Returns FAILED_PRECONDITION if closed.
  absl::Status Push(T item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return absl::FailedPreconditionError("queue closed");
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return absl::OkStatus();
  }

  // Never blocks. Returns RESOURCE_EXHAUSTED when full, FAILED_PRECONDITION
  // when closed; the item is left untouched in both cases.
  absl::Status TryPush(T& item) {
    std::lock_guard lock(mu_);
    if (closed_) return absl::FailedPreconditionError("queue closed");
    if (items_.size() >= capacity_) {
      return absl::ResourceExhaustedError("queue full");
    }
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return absl::OkStatus();
  }

  // Waits up to `timeout` for an item. Returns nullopt on timeout or when the
  // queue is closed and empty.
  std::optional<T> Pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!not_empty_.wait_for(lock, timeout,
                             [&] { return closed_ || !items_.empty(); }) ||
        items_.empty()) {
      return std::nullopt;
    }
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // Waits up to `timeout` until at least `min` items are queued, then takes up
  // to `max`. On timeout or close it returns what is there (maybe fewer than
  // `min`, maybe none).
  std::vector<T> PopBatch(size_t min, size_t max,
                          std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    not_empty_.wait_for(lock, timeout,
                        [&] { return closed_ || items_.size() >= min; });
    std::vector<T> out;
    while (!items_.empty() && out.size() < max) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    if (!out.empty()) not_full_.notify_all();
    return out;
  }

  // Wakes every waiter; later pushes fail. Idempotent.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace lantern::common
