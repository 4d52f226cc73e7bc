#include "reward_server/annotation_pool.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace lantern::reward {

AnnotationPool::AnnotationPool(Annotator* annotator, CaptionQueue* queue,
                               int workers, OnOutcome on_outcome)
    : annotator_(annotator), queue_(queue), on_outcome_(std::move(on_outcome)) {
  for (int i = 0; i < workers; ++i) {
    workers_.emplace_back([this](std::stop_token stop) { Work(stop); });
  }
}

AnnotationPool::~AnnotationPool() { Stop(); }

void AnnotationPool::Stop() {
  for (std::jthread& w : workers_) w.request_stop();
  for (std::jthread& w : workers_) {
    if (w.joinable()) w.join();
  }
}

void AnnotationPool::Work(std::stop_token stop) {
  using std::chrono::milliseconds;
  constexpr milliseconds kFirstBackoff(250), kMaxBackoff(10000);
  milliseconds backoff = kFirstBackoff;
  std::mutex mu;
  std::condition_variable_any cv;
  while (!stop.stop_requested()) {
    std::optional<Query> query = queue_->Take(stop);
    if (!query.has_value()) return;
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<Annotation> result = annotator_->Annotate(*query, stop);
    Outcome outcome{.query = std::move(*query), .result = std::move(result)};
    outcome.latency_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    const bool failed = !outcome.result.ok();
    on_outcome_(std::move(outcome));
    if (!failed) {
      backoff = kFirstBackoff;
      continue;
    }
    std::unique_lock lock(mu);
    cv.wait_for(lock, stop, backoff, [] { return false; });
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace lantern::reward
