#pragma once

#include <google/protobuf/message_lite.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_callback.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lantern/v1/tensor.pb.h"

namespace lantern::common {

class VersionWatch;

// One published version, already split into wire chunks.
struct VersionSnapshot {
  int64_t version = -1;
  std::vector<v1::VersionChunk> chunks;
};

// Holds the newest version of a serialized message (the policy's weights,
// the reward model) and streams it in chunks to every watcher. A slow
// watcher skips intermediate versions: it always gets the newest one next.
// Thread-safe.
class VersionPublisher {
 public:
  explicit VersionPublisher(size_t chunk_bytes = 1 << 20);

  // Serializes and chunks `message` as `version`, makes it the newest
  // version and wakes the watchers. Does not wait on watchers.
  void Publish(int64_t version, const google::protobuf::MessageLite& message);

  int64_t version() const;
  std::shared_ptr<const VersionSnapshot> latest() const;

  // Creates the reactor for one watch call.
  grpc::ServerWriteReactor<v1::VersionChunk>* Watch(int64_t known_version);

  // Ends every watch (UNAVAILABLE) so that the server can shut down at once;
  // later watches end at once too. Idempotent.
  void Close();

 private:
  friend class VersionWatch;
  void Remove(VersionWatch* watch);

  const size_t chunk_bytes_;
  mutable std::mutex mu_;
  std::shared_ptr<const VersionSnapshot> latest_;
  std::set<VersionWatch*> watchers_;
  bool closed_ = false;
};

// Server side of one watch call. Deletes itself in OnDone.
class VersionWatch : public grpc::ServerWriteReactor<v1::VersionChunk> {
 public:
  VersionWatch(VersionPublisher* publisher, int64_t known_version);

  // A newer snapshot exists; called with the publisher's lock held.
  void Notify(std::shared_ptr<const VersionSnapshot> snapshot);
  // The publisher closes; called with the publisher's lock held.
  void Close();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void WriteNext();     // requires mu_
  void FinishIfIdle();  // requires mu_

  VersionPublisher* const publisher_;
  std::mutex mu_;
  int64_t sent_version_;
  bool sent_any_ = false;
  std::shared_ptr<const VersionSnapshot> sending_;  // being written
  std::shared_ptr<const VersionSnapshot> next_;     // newest not yet started
  size_t chunk_ = 0;
  bool write_in_flight_ = false;
  bool ending_ = false;  // cancelled or closed: finish once no write is out
  grpc::Status end_status_;
  bool finished_ = false;
};

}  // namespace lantern::common
