#include "actor/policy_watcher.h"

#include <spdlog/spdlog.h>

namespace lantern::actor {

class PolicyWatcher::Call : public grpc::ClientReadReactor<v1::PolicyChunk> {
 public:
  Call(PolicyWatcher* watcher, int64_t known_version) : watcher_(watcher) {
    request_.set_known_version(known_version);
  }

  void Begin(v1::Learner::Stub* stub) {
    stub->async()->WatchPolicy(&context_, &request_, this);
    StartRead(&chunk_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    watcher_->OnChunk(chunk_);
    StartRead(&chunk_);
  }

  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(watcher_->mu_);
    watcher_->call_done_ = true;
    watcher_->cv_.notify_all();
  }

 private:
  PolicyWatcher* const watcher_;
  grpc::ClientContext context_;
  v1::WatchPolicyRequest request_;
  v1::PolicyChunk chunk_;
};

PolicyWatcher::PolicyWatcher(std::shared_ptr<grpc::Channel> channel,
                             Callback on_weights)
    : stub_(v1::Learner::NewStub(channel)),
      on_weights_(std::move(on_weights)),
      thread_([this](std::stop_token stop) { Loop(stop); }) {}

PolicyWatcher::~PolicyWatcher() { Stop(); }

void PolicyWatcher::OnChunk(const v1::PolicyChunk& chunk) {
  std::shared_ptr<v1::PolicyWeights> weights;
  {
    std::lock_guard lock(mu_);
    if (chunk.index() == 0) {
      assembling_version_ = chunk.version();
      assembled_.clear();
      next_chunk_ = 0;
    }
    if (chunk.version() != assembling_version_ ||
        chunk.index() != next_chunk_) {
      spdlog::warn("policy chunk {} of version {} out of order; skipped",
                   chunk.index(), chunk.version());
      assembling_version_ = -1;
      return;
    }
    assembled_ += chunk.data();
    ++next_chunk_;
    if (next_chunk_ < chunk.num_chunks()) return;
    weights = std::make_shared<v1::PolicyWeights>();
    if (!weights->ParseFromString(assembled_)) {
      spdlog::warn("policy version {} does not parse; skipped",
                   chunk.version());
      return;
    }
    known_version_ = chunk.version();
    ++versions_received_;
    assembled_.clear();
  }
  on_weights_(std::move(weights));
}

void PolicyWatcher::Loop(std::stop_token stop) {
  auto backoff = std::chrono::milliseconds(100);
  while (!stop.stop_requested()) {
    std::unique_ptr<Call> call;
    {
      std::lock_guard lock(mu_);
      call = std::make_unique<Call>(this, known_version_);
      call_done_ = false;
      call->Begin(stub_.get());
    }
    std::unique_lock lock(mu_);
    const int64_t before = versions_received_;
    cv_.wait(lock, stop, [&] { return call_done_; });
    if (!call_done_) {
      call->Cancel();
      cv_.wait(lock, [&] { return call_done_; });
      break;
    }
    // A call that delivered something was healthy: retry quickly.
    backoff = versions_received_ > before
                  ? std::chrono::milliseconds(100)
                  : std::min(backoff * 2, std::chrono::milliseconds(2000));
    cv_.wait_for(lock, stop, backoff, [] { return false; });
  }
}

void PolicyWatcher::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

int64_t PolicyWatcher::versions_received() const {
  std::lock_guard lock(mu_);
  return versions_received_;
}

}  // namespace lantern::actor
