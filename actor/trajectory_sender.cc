#include "actor/trajectory_sender.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "common/grpc_util.h"

namespace lantern::actor {

// One StreamTrajectories call. The sender's mutex guards everything the
// stream touches, so its callbacks and Send() never race.
class TrajectorySender::Stream
    : public grpc::ClientBidiReactor<v1::Trajectory, v1::TrajectoryAck> {
 public:
  explicit Stream(TrajectorySender* sender) : sender_(sender) {}

  // `learner_boot`: the boot id of the learner registered with (0: none
  // known); a learner with another one refuses the stream.
  void Begin(v1::Learner::Stub* stub, uint64_t learner_boot) {
    if (learner_boot != 0) {
      context_.AddMetadata(common::kLearnerBootMetadata,
                           std::to_string(learner_boot));
    }
    stub->async()->StreamTrajectories(&context_, this);
    // The hold keeps OnDone back while the sender may still start writes
    // from its own threads; it is released once reading has ended.
    AddHold();
    StartRead(&ack_);
    StartCall();
  }

  // Requires the sender's mutex.
  bool writing() const { return writing_ != nullptr; }
  bool closed() const { return closed_; }
  void Write(std::shared_ptr<const v1::Trajectory> t) {
    writing_ = std::move(t);
    StartWrite(writing_.get());
  }
  void Cancel() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(sender_->mu_);
    writing_ = nullptr;
    if (ok) {
      ++sender_->counters_.sent;
      sender_->WriteNextLocked();
    }
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      sender_->OnAck(ack_);
      StartRead(&ack_);
      return;
    }
    {
      std::lock_guard lock(sender_->mu_);
      closed_ = true;  // no more writes from now on
    }
    RemoveHold();
  }

  void OnDone(const grpc::Status& status) override {
    sender_->OnStreamDone(status);
  }

 private:
  TrajectorySender* const sender_;
  grpc::ClientContext context_;
  v1::TrajectoryAck ack_;
  std::shared_ptr<const v1::Trajectory> writing_;
  bool closed_ = false;
};

TrajectorySender::TrajectorySender(std::shared_ptr<grpc::Channel> channel,
                                   size_t max_unacked,
                                   size_t max_retained_bytes,
                                   Reconnect reconnect)
    : stub_(v1::Learner::NewStub(channel)),
      max_unacked_(max_unacked),
      max_retained_bytes_(max_retained_bytes),
      reconnect_(std::move(reconnect)),
      thread_([this](std::stop_token stop) { Loop(stop); }) {}

TrajectorySender::~TrajectorySender() { Stop(); }

bool TrajectorySender::Send(std::shared_ptr<const v1::Trajectory> t,
                            const std::atomic<bool>& cancel) {
  std::unique_lock lock(mu_);
  // `cancel` is set from a signal handler, which cannot notify: look at it
  // every 100 ms.
  while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [&] {
    return stopping_ || unacked_.size() < max_unacked_;
  })) {
    if (cancel.load()) return false;
  }
  if (stopping_ || cancel.load()) return false;
  unacked_.push_back(std::move(t));
  // The sender's thread starts the write: serializing and sending is then
  // off the caller's (the stepping) thread.
  cv_.notify_all();
  return true;
}

bool TrajectorySender::WriteReadyLocked() const {
  return stream_ != nullptr && !stream_->closed() && !stream_->writing() &&
         next_write_ < unacked_.size();
}

void TrajectorySender::WriteNextLocked() {
  if (WriteReadyLocked()) stream_->Write(unacked_[next_write_++]);
}

void TrajectorySender::OnAck(const v1::TrajectoryAck& ack) {
  std::lock_guard lock(mu_);
  switch (ack.status()) {
    case v1::TrajectoryAck::ACCEPTED:
      ++counters_.accepted;
      break;
    case v1::TrajectoryAck::DUPLICATE:
      ++counters_.duplicates;
      break;
    default:
      ++counters_.rejected;
      spdlog::warn("learner rejected trajectory {}: {}", ack.seq(),
                   ack.reason());
  }
  // Acks come in order of writing, so the match is at or near the front.
  auto it = std::find_if(unacked_.begin(), unacked_.end(), [&](auto& t) {
    return t->seq() == ack.seq() && t->incarnation() == ack.incarnation();
  });
  if (it == unacked_.end()) return;
  const size_t index = size_t(it - unacked_.begin());
  // Accepted now or before: the learner holds it, but until its checkpoint
  // does, a learner crash would lose it.
  const bool held = ack.status() == v1::TrajectoryAck::ACCEPTED ||
                    ack.status() == v1::TrajectoryAck::DUPLICATE;
  if (held && ack.seq() >= committed_seq_ && max_retained_bytes_ > 0) {
    // Written, so its size is cached.
    retained_bytes_ += size_t((*it)->GetCachedSize());
    retained_.push_back(std::move(*it));
    while (retained_bytes_ > max_retained_bytes_) {
      if (counters_.retained_dropped++ == 0) {
        spdlog::warn(
            "more than actor.max_retained_mb={} of trajectories await the "
            "learner's checkpoint; forgetting the oldest (a learner crash "
            "now loses them)",
            max_retained_bytes_ >> 20);
      }
      retained_bytes_ -= size_t(retained_.front()->GetCachedSize());
      retained_.pop_front();
    }
  }
  unacked_.erase(it);
  if (index < next_write_) --next_write_;
  cv_.notify_all();
}

bool TrajectorySender::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return unacked_.empty(); });
}

void TrajectorySender::Commit(uint64_t committed_seq) {
  std::lock_guard lock(mu_);
  committed_seq_ = std::max(committed_seq_, committed_seq);
  std::erase_if(retained_, [&](const auto& t) {
    if (t->seq() >= committed_seq_) return false;
    retained_bytes_ -= size_t(t->GetCachedSize());
    return true;
  });
}

void TrajectorySender::OnStreamDone(const grpc::Status& status) {
  std::lock_guard lock(mu_);
  if (!stopping_ && !status.ok()) {
    ++counters_.stream_errors;
    spdlog::warn(
        "trajectory stream ended: {} ({}); {} unacknowledged to resend",
        status.error_message(), int(status.error_code()), unacked_.size());
  }
  stream_done_ = true;
  cv_.notify_all();
}

void TrajectorySender::Loop(std::stop_token stop) {
  auto backoff = std::chrono::milliseconds(100);
  while (!stop.stop_requested()) {
    const std::optional<uint64_t> boot = reconnect_();
    if (!boot) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, backoff, [] { return false; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    auto stream = std::make_unique<Stream>(this);
    uint64_t acks_before;
    {
      std::lock_guard lock(mu_);
      acks_before =
          counters_.accepted + counters_.duplicates + counters_.rejected;
      stream_ = stream.get();
      stream_done_ = false;
      // A learner that restarted lost what it acknowledged but had not
      // checkpointed: resend everything not yet committed, oldest first
      // (it answers DUPLICATE for what its checkpoint holds). The same
      // learner behind a broken stream still has it.
      if (*boot == 0 || *boot != learner_boot_) {
        counters_.retained_resent += retained_.size();
        unacked_.insert(unacked_.begin(), retained_.begin(), retained_.end());
        retained_.clear();
        retained_bytes_ = 0;
        std::stable_sort(
            unacked_.begin(), unacked_.end(),
            [](const auto& a, const auto& b) { return a->seq() < b->seq(); });
      }
      learner_boot_ = *boot;
      next_write_ = 0;
      ++counters_.connects;
      stream->Begin(stub_.get(), learner_boot_);
      WriteNextLocked();
    }
    std::unique_lock lock(mu_);
    // Starts writes on an idle stream; OnWriteDone chains the rest.
    while (cv_.wait(lock, stop, [&] {
      return stream_done_ || WriteReadyLocked();
    }) && !stream_done_) {
      WriteNextLocked();
    }
    if (!stream_done_) {  // stopping: cancel and wait for OnDone
      stream_->Cancel();
      cv_.wait(lock, [&] { return stream_done_; });
    }
    stream_ = nullptr;
    // A stream that got no ack at all (the learner is going away, or it
    // breaks on something) is retried with growing backoff, not at once.
    if (counters_.accepted + counters_.duplicates + counters_.rejected >
        acks_before) {
      backoff = std::chrono::milliseconds(100);
    } else {
      cv_.wait_for(lock, stop, backoff, [] { return false; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

void TrajectorySender::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

SenderCounters TrajectorySender::Counters() const {
  std::lock_guard lock(mu_);
  SenderCounters c = counters_;
  c.unacked = unacked_.size();
  c.retained = retained_.size();
  c.retained_bytes = retained_bytes_;
  return c;
}

}  // namespace lantern::actor
