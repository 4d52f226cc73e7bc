#include "learner/policy_publisher.h"

#include <algorithm>

namespace lantern::learner {

PolicyPublisher::PolicyPublisher(size_t chunk_bytes)
    : chunk_bytes_(chunk_bytes) {}

void PolicyPublisher::Publish(const v1::PolicyWeights& weights) {
  // Serialize and chunk outside the lock: it is the expensive part.
  auto snapshot = std::make_shared<PolicySnapshot>();
  snapshot->version = weights.version();
  const std::string bytes = weights.SerializeAsString();
  const size_t n =
      std::max<size_t>(1, (bytes.size() + chunk_bytes_ - 1) / chunk_bytes_);
  snapshot->chunks.resize(n);
  for (size_t i = 0; i < n; ++i) {
    v1::PolicyChunk& c = snapshot->chunks[i];
    c.set_version(weights.version());
    c.set_index(int(i));
    c.set_num_chunks(int(n));
    c.set_data(bytes.substr(i * chunk_bytes_, chunk_bytes_));
  }
  std::lock_guard lock(mu_);
  latest_ = snapshot;
  for (PolicyWatch* w : watchers_) w->Notify(snapshot);
}

int64_t PolicyPublisher::version() const {
  std::lock_guard lock(mu_);
  return latest_ ? latest_->version : -1;
}

std::shared_ptr<const PolicySnapshot> PolicyPublisher::latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

grpc::ServerWriteReactor<v1::PolicyChunk>* PolicyPublisher::Watch(
    int64_t known_version) {
  auto* watch = new PolicyWatch(this, known_version);
  std::lock_guard lock(mu_);
  watchers_.insert(watch);
  if (closed_) {
    watch->Close();
  } else if (latest_) {
    watch->Notify(latest_);
  }
  return watch;
}

void PolicyPublisher::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (PolicyWatch* w : watchers_) w->Close();
}

void PolicyPublisher::Remove(PolicyWatch* watch) {
  std::lock_guard lock(mu_);
  watchers_.erase(watch);
}

PolicyWatch::PolicyWatch(PolicyPublisher* publisher, int64_t known_version)
    : publisher_(publisher), sent_version_(known_version) {}

void PolicyWatch::Notify(std::shared_ptr<const PolicySnapshot> snapshot) {
  std::lock_guard lock(mu_);
  // An older version than the watcher knows, before this call sent
  // anything, comes from a learner resumed from an earlier checkpoint: the
  // watcher's version belongs to a learner that is gone. Send it.
  const bool older_learner = !sent_any_ && snapshot->version < sent_version_;
  if (finished_ || ending_ ||
      (snapshot->version <= sent_version_ && !older_learner)) {
    return;
  }
  if (older_learner) sent_version_ = snapshot->version - 1;
  next_ = std::move(snapshot);
  if (!write_in_flight_) WriteNext();
}

void PolicyWatch::Close() {
  std::lock_guard lock(mu_);
  ending_ = true;
  end_status_ =
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "learner is shutting down");
  FinishIfIdle();
}

void PolicyWatch::FinishIfIdle() {
  if (finished_ || write_in_flight_) return;
  finished_ = true;
  Finish(end_status_);
}

void PolicyWatch::WriteNext() {
  if (sending_ == nullptr || chunk_ >= sending_->chunks.size()) {
    // Done with a version (or idle): move on to the newest pending one.
    if (sending_ != nullptr) sent_version_ = sending_->version;
    sending_ = nullptr;
    if (next_ == nullptr || next_->version <= sent_version_) return;
    sending_ = std::move(next_);
    next_ = nullptr;
    chunk_ = 0;
  }
  write_in_flight_ = true;
  sent_any_ = true;
  StartWrite(&sending_->chunks[chunk_++]);
}

void PolicyWatch::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  write_in_flight_ = false;
  if (!ok && !ending_) {
    ending_ = true;
    end_status_ = grpc::Status::CANCELLED;
  }
  if (ending_) {
    FinishIfIdle();
  } else {
    WriteNext();
  }
}

void PolicyWatch::OnCancel() {
  std::lock_guard lock(mu_);
  // The write in flight, if any, may still complete with ok = true: the
  // flag makes OnWriteDone finish either way.
  ending_ = true;
  end_status_ = grpc::Status::CANCELLED;
  FinishIfIdle();
}

void PolicyWatch::OnDone() {
  publisher_->Remove(this);
  delete this;
}

}  // namespace lantern::learner
