#include "learner/trajectory_stream.h"

#include <algorithm>

namespace lantern::learner {

TrajectoryStream::TrajectoryStream(Ingest* ingest, Counters* counters)
    : ingest_(ingest),
      counters_(counters),
      parked_(std::make_shared<Parked>()),
      tokens_(std::max(1.0, counters->max_per_s)),
      refilled_(common::TimerQueue::Clock::now()) {
  parked_->stream = this;
  std::lock_guard lock(mu_);
  StartNextRead();
}

void TrajectoryStream::StartNextRead() {
  using Clock = common::TimerQueue::Clock;
  const Clock::time_point now = Clock::now();
  const double rate = counters_->max_per_s;
  tokens_ = std::min(
      std::max(1.0, rate),
      tokens_ + rate * std::chrono::duration<double>(now - refilled_).count());
  refilled_ = now;
  if (tokens_ < 1 && counters_->timer != nullptr) {
    // Over its rate: read later. Until then the sender's bytes wait in
    // HTTP/2 flow control, not in this process.
    reads_paused_ = true;
    if (timer_pending_) return;
    timer_pending_ = true;
    counters_->throttled.fetch_add(1);
    const auto wait = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>((1 - tokens_) / rate));
    std::shared_ptr<Parked> parked = parked_;
    counters_->timer->At(now + wait, [parked] {
      std::lock_guard lock(parked->mu);
      if (parked->stream != nullptr) parked->stream->ResumeRead();
    });
    return;
  }
  tokens_ -= 1;
  reads_paused_ = false;
  incoming_ = std::make_unique<v1::Trajectory>();
  read_in_flight_ = true;
  StartRead(incoming_.get());
}

void TrajectoryStream::ResumeRead() {
  std::lock_guard lock(mu_);
  timer_pending_ = false;
  if (reads_paused_ && !read_in_flight_ && !cancelled_ && !closing_ &&
      !finished_ && acks_.size() < kMaxPendingAcks) {
    StartNextRead();
  }
}

void TrajectoryStream::OnReadDone(bool ok) {
  {
    std::lock_guard lock(mu_);
    read_in_flight_ = false;
    if (!ok) {  // the actor closed its side, or the call broke
      reads_done_ = true;
      MaybeWriteOrFinish();
      return;
    }
  }
  Offer();
}

void TrajectoryStream::Offer() {
  absl::Status reason;
  std::shared_ptr<Parked> parked = parked_;
  // On kFull the Ingest calls this back from a consumer thread.
  auto retry = [parked] {
    std::lock_guard lock(parked->mu);
    if (parked->stream != nullptr) parked->stream->Offer();
  };
  v1::Trajectory header;  // ids for the ack; the body may be moved away
  header.set_actor_id(incoming_->actor_id());
  header.set_incarnation(incoming_->incarnation());
  header.set_seq(incoming_->seq());
  switch (ingest_->Offer(incoming_, &reason, retry)) {
    case Ingest::Outcome::kFull:
      return;
    case Ingest::Outcome::kClosed: {
      // No ack: the actor keeps the trajectory and resends it to the next
      // learner once this stream has ended.
      std::lock_guard lock(mu_);
      closing_ = true;
      MaybeWriteOrFinish();
      return;
    }
    case Ingest::Outcome::kAccepted:
      if (counters_->actors != nullptr) {
        counters_->actors->Accepted(header.actor_id(), header.incarnation(),
                                    ActorRegistry::Clock::now());
      }
      QueueAck(header, v1::TrajectoryAck::ACCEPTED, reason);
      break;
    case Ingest::Outcome::kDuplicate:
      QueueAck(header, v1::TrajectoryAck::DUPLICATE, reason);
      break;
    case Ingest::Outcome::kRejected:
      if (counters_->actors != nullptr &&
          counters_->actors->Knows(header.actor_id(), header.incarnation())) {
        ingest_->Settle(header.incarnation(), header.seq());
      }
      QueueAck(header, v1::TrajectoryAck::REJECTED, reason);
      break;
  }
}

void TrajectoryStream::QueueAck(const v1::Trajectory& t,
                                v1::TrajectoryAck::Status status,
                                const absl::Status& reason) {
  std::lock_guard lock(mu_);
  if (finished_) return;
  v1::TrajectoryAck& ack = acks_.emplace_back();
  ack.set_incarnation(t.incarnation());
  ack.set_seq(t.seq());
  ack.set_status(status);
  if (!reason.ok()) {
    ack.set_code(static_cast<int>(reason.code()));
    ack.set_reason(std::string(reason.message()));
  }
  if (cancelled_) {
    // No more reads: the stream is ending.
  } else if (acks_.size() < kMaxPendingAcks) {
    StartNextRead();
  } else {
    reads_paused_ = true;  // resumed in OnWriteDone once acks drain
  }
  MaybeWriteOrFinish();
}

void TrajectoryStream::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  write_in_flight_ = false;
  if (!ok) {
    cancelled_ = true;  // the actor is gone; stop writing
    acks_.clear();
  }
  MaybeWriteOrFinish();
  // Reads paused for too many pending acks resume once they drain.
  if (reads_paused_ && !read_in_flight_ && !timer_pending_ && !cancelled_ &&
      !finished_ && acks_.size() < kMaxPendingAcks) {
    StartNextRead();
  }
}

void TrajectoryStream::MaybeWriteOrFinish() {
  if (finished_ || write_in_flight_) return;
  if (!cancelled_ && !acks_.empty()) {
    writing_ = std::move(acks_.front());
    acks_.pop_front();
    write_in_flight_ = true;
    StartWrite(&writing_);
    return;
  }
  if ((reads_done_ || cancelled_ || closing_) && !read_in_flight_) {
    finished_ = true;
    Finish(cancelled_ ? grpc::Status::CANCELLED
           : closing_ ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                     "learner is shutting down")
                      : grpc::Status::OK);
  }
}

void TrajectoryStream::OnCancel() {
  counters_->cancelled.fetch_add(1);
  std::lock_guard lock(mu_);
  cancelled_ = true;
  MaybeWriteOrFinish();
}

void TrajectoryStream::OnDone() {
  counters_->open.fetch_sub(1);
  {
    std::lock_guard lock(parked_->mu);  // waits for a running retry
    parked_->stream = nullptr;
  }
  delete this;
}

}  // namespace lantern::learner
