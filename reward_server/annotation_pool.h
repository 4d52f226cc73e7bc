#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "reward_server/annotator.h"
#include "reward_server/caption_queue.h"

namespace lantern::reward {

// What became of one query handed to the annotator.
struct Outcome {
  Query query;
  absl::StatusOr<Annotation> result;
  double latency_s = 0;  // wall time of the Annotate call
};

// `workers` threads take the newest pending query, ask the annotator and
// hand the outcome on; that is how several annotation requests stay in
// flight. A worker whose attempt failed (annotator unreachable after its own
// retries) waits with capped exponential backoff before taking another
// query, so a dead LLM server is not hammered.
class AnnotationPool {
 public:
  using OnOutcome = std::function<void(Outcome)>;

  AnnotationPool(Annotator* annotator, CaptionQueue* queue, int workers,
                 OnOutcome on_outcome);
  ~AnnotationPool();

  // Interrupts the annotator calls in flight (their queries are reported as
  // failed and go back to pending) and joins the workers. Idempotent.
  void Stop();

 private:
  void Work(std::stop_token stop);

  Annotator* const annotator_;
  CaptionQueue* const queue_;
  const OnOutcome on_outcome_;
  std::vector<std::jthread> workers_;
};

}  // namespace lantern::reward
