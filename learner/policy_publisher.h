#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lantern/v1/learner.grpc.pb.h"

namespace lantern::learner {

class PolicyWatch;

// One published policy version, already split into wire chunks.
struct PolicySnapshot {
  int64_t version = -1;
  std::vector<v1::PolicyChunk> chunks;
};

// Holds the newest policy version and streams it to every watcher. A slow
// watcher skips intermediate versions: it always gets the newest one next.
// Thread-safe.
class PolicyPublisher {
 public:
  explicit PolicyPublisher(size_t chunk_bytes = 1 << 20);

  // Serializes and chunks `weights`, makes it the newest version and wakes
  // the watchers. Called by the training thread; does not wait on watchers.
  void Publish(const v1::PolicyWeights& weights);

  int64_t version() const;
  std::shared_ptr<const PolicySnapshot> latest() const;

  // Creates the reactor for one WatchPolicy call.
  grpc::ServerWriteReactor<v1::PolicyChunk>* Watch(int64_t known_version);

  // Ends every watch (UNAVAILABLE) so that the server can shut down at once;
  // later watches end at once too. Idempotent.
  void Close();

 private:
  friend class PolicyWatch;
  void Remove(PolicyWatch* watch);

  const size_t chunk_bytes_;
  mutable std::mutex mu_;
  std::shared_ptr<const PolicySnapshot> latest_;
  std::set<PolicyWatch*> watchers_;
  bool closed_ = false;
};

// Server side of one WatchPolicy call. Deletes itself in OnDone.
class PolicyWatch : public grpc::ServerWriteReactor<v1::PolicyChunk> {
 public:
  PolicyWatch(PolicyPublisher* publisher, int64_t known_version);

  // A newer snapshot exists; called with the publisher's lock held.
  void Notify(std::shared_ptr<const PolicySnapshot> snapshot);
  // The publisher closes; called with the publisher's lock held.
  void Close();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void WriteNext();     // requires mu_
  void FinishIfIdle();  // requires mu_

  PolicyPublisher* const publisher_;
  std::mutex mu_;
  int64_t sent_version_;
  bool sent_any_ = false;
  std::shared_ptr<const PolicySnapshot> sending_;  // being written
  std::shared_ptr<const PolicySnapshot> next_;     // newest not yet started
  size_t chunk_ = 0;
  bool write_in_flight_ = false;
  bool ending_ = false;  // cancelled or closed: finish once no write is out
  grpc::Status end_status_;
  bool finished_ = false;
};

}  // namespace lantern::learner
