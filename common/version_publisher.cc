#include "common/version_publisher.h"

#include <algorithm>

namespace lantern::common {

VersionPublisher::VersionPublisher(size_t chunk_bytes)
    : chunk_bytes_(chunk_bytes) {}

void VersionPublisher::Publish(int64_t version,
                               const google::protobuf::MessageLite& message) {
  // Serialize and chunk outside the lock: it is the expensive part.
  auto snapshot = std::make_shared<VersionSnapshot>();
  snapshot->version = version;
  const std::string bytes = message.SerializeAsString();
  const size_t n =
      std::max<size_t>(1, (bytes.size() + chunk_bytes_ - 1) / chunk_bytes_);
  snapshot->chunks.resize(n);
  for (size_t i = 0; i < n; ++i) {
    v1::VersionChunk& c = snapshot->chunks[i];
    c.set_version(version);
    c.set_index(int(i));
    c.set_num_chunks(int(n));
    c.set_data(bytes.substr(i * chunk_bytes_, chunk_bytes_));
  }
  std::lock_guard lock(mu_);
  latest_ = snapshot;
  for (VersionWatch* w : watchers_) w->Notify(snapshot);
}

int64_t VersionPublisher::version() const {
  std::lock_guard lock(mu_);
  return latest_ ? latest_->version : -1;
}

std::shared_ptr<const VersionSnapshot> VersionPublisher::latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

grpc::ServerWriteReactor<v1::VersionChunk>* VersionPublisher::Watch(
    int64_t known_version) {
  auto* watch = new VersionWatch(this, known_version);
  std::lock_guard lock(mu_);
  watchers_.insert(watch);
  if (closed_) {
    watch->Close();
  } else if (latest_) {
    watch->Notify(latest_);
  }
  return watch;
}

void VersionPublisher::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (VersionWatch* w : watchers_) w->Close();
}

void VersionPublisher::Remove(VersionWatch* watch) {
  std::lock_guard lock(mu_);
  watchers_.erase(watch);
}

VersionWatch::VersionWatch(VersionPublisher* publisher, int64_t known_version)
    : publisher_(publisher), sent_version_(known_version) {}

void VersionWatch::Notify(std::shared_ptr<const VersionSnapshot> snapshot) {
  std::lock_guard lock(mu_);
  // An older version than the watcher knows, before this call sent
  // anything, comes from a server resumed from an earlier checkpoint: the
  // watcher's version belongs to a server that is gone. Send it.
  const bool older_server = !sent_any_ && snapshot->version < sent_version_;
  if (finished_ || ending_ ||
      (snapshot->version <= sent_version_ && !older_server)) {
    return;
  }
  if (older_server) sent_version_ = snapshot->version - 1;
  next_ = std::move(snapshot);
  if (!write_in_flight_) WriteNext();
}

void VersionWatch::Close() {
  std::lock_guard lock(mu_);
  ending_ = true;
  end_status_ =
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down");
  FinishIfIdle();
}

void VersionWatch::FinishIfIdle() {
  if (finished_ || write_in_flight_) return;
  finished_ = true;
  Finish(end_status_);
}

void VersionWatch::WriteNext() {
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

void VersionWatch::OnWriteDone(bool ok) {
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

void VersionWatch::OnCancel() {
  std::lock_guard lock(mu_);
  // The write in flight, if any, may still complete with ok = true: the
  // flag makes OnWriteDone finish either way.
  ending_ = true;
  end_status_ = grpc::Status::CANCELLED;
  FinishIfIdle();
}

void VersionWatch::OnDone() {
  publisher_->Remove(this);
  delete this;
}

}  // namespace lantern::common
