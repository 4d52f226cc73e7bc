#include "common/version_watcher.h"

#include <spdlog/spdlog.h>

namespace lantern::common {

class VersionWatcher::Call : public grpc::ClientReadReactor<v1::VersionChunk> {
 public:
  Call(VersionWatcher* watcher, int64_t known_version) : watcher_(watcher) {
    request_.set_known_version(known_version);
  }

  void Begin(const VersionWatcher::StartCall& start_call) {
    start_call(&context_, &request_, this);
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
  VersionWatcher* const watcher_;
  grpc::ClientContext context_;
  v1::WatchRequest request_;
  v1::VersionChunk chunk_;
};

VersionWatcher::VersionWatcher(std::string what, StartCall start_call,
                               Callback on_version)
    : what_(std::move(what)),
      start_call_(std::move(start_call)),
      on_version_(std::move(on_version)),
      thread_([this](std::stop_token stop) { Loop(stop); }) {}

VersionWatcher::~VersionWatcher() { Stop(); }

void VersionWatcher::OnChunk(const v1::VersionChunk& chunk) {
  std::string bytes;
  {
    std::lock_guard lock(mu_);
    if (chunk.index() == 0) {
      assembling_version_ = chunk.version();
      assembled_.clear();
      next_chunk_ = 0;
    }
    if (chunk.version() != assembling_version_ ||
        chunk.index() != next_chunk_) {
      spdlog::warn("{} chunk {} of version {} out of order; skipped", what_,
                   chunk.index(), chunk.version());
      assembling_version_ = -1;
      return;
    }
    assembled_ += chunk.data();
    ++next_chunk_;
    if (next_chunk_ < chunk.num_chunks()) return;
    bytes = std::move(assembled_);
    assembled_.clear();
  }
  // Outside the lock: the callback may take a while (parsing, loading).
  if (!on_version_(chunk.version(), std::move(bytes))) {
    spdlog::warn("{} version {} does not parse; skipped", what_,
                 chunk.version());
    return;
  }
  std::lock_guard lock(mu_);
  known_version_ = chunk.version();
  ++versions_received_;
}

void VersionWatcher::Loop(std::stop_token stop) {
  auto backoff = std::chrono::milliseconds(100);
  while (!stop.stop_requested()) {
    std::unique_ptr<Call> call;
    {
      std::lock_guard lock(mu_);
      call = std::make_unique<Call>(this, known_version_);
      call_done_ = false;
      call->Begin(start_call_);
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

void VersionWatcher::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

int64_t VersionWatcher::versions_received() const {
  std::lock_guard lock(mu_);
  return versions_received_;
}

}  // namespace lantern::common
