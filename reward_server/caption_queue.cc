#include "reward_server/caption_queue.h"

#include "absl/strings/str_cat.h"

namespace lantern::reward {

CaptionQueue::CaptionQueue(size_t capacity) : capacity_(capacity) {}

std::string CaptionQueue::Key(const Query& query) {
  if (!query.is_pair()) return absl::StrCat("S", query.first);
  // The length prefix keeps ("ab", "c") apart from ("a", "bc").
  return absl::StrCat("P", query.first.size(), ":", query.first, *query.second);
}

std::vector<Query> CaptionQueue::AdmitNew(const std::vector<Query>& queries) {
  std::vector<Query> fresh;
  std::lock_guard lock(mu_);
  for (const Query& q : queries) {
    if (states_.emplace(Key(q), Entry{}).second) fresh.push_back(q);
  }
  return fresh;
}

void CaptionQueue::Forget(const std::vector<Query>& queries) {
  std::lock_guard lock(mu_);
  for (const Query& q : queries) states_.erase(Key(q));
}

std::vector<Query> CaptionQueue::Push(std::vector<Query> queries) {
  std::vector<Query> dropped;
  {
    std::lock_guard lock(mu_);
    for (Query& q : queries) {
      states_[Key(q)].state = State::kPending;
      pending_.push_back(std::move(q));
    }
    while (pending_.size() > capacity_) {
      states_[Key(pending_.front())].state = State::kDone;
      dropped.push_back(std::move(pending_.front()));
      pending_.pop_front();
      ++dropped_;
    }
  }
  cv_.notify_all();
  return dropped;
}

void CaptionQueue::MarkDone(const Query& query) {
  std::lock_guard lock(mu_);
  states_[Key(query)].state = State::kDone;
}

std::optional<Query> CaptionQueue::Take(std::stop_token stop) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, stop, [&] { return closed_ || !pending_.empty(); });
  if (closed_ || pending_.empty()) return std::nullopt;
  Query q = std::move(pending_.back());
  pending_.pop_back();
  Entry& e = states_[Key(q)];
  e.state = State::kInFlight;
  if (!e.asked) {
    e.asked = true;
    ++asked_;
  }
  ++in_flight_;
  return q;
}

void CaptionQueue::Finish(const Query& query) {
  std::lock_guard lock(mu_);
  states_[Key(query)].state = State::kDone;
  --in_flight_;
}

void CaptionQueue::Requeue(Query query) {
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    states_[Key(query)].state = State::kPending;
    pending_.push_back(std::move(query));
  }
  cv_.notify_one();
}

void CaptionQueue::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

CaptionQueue::Counts CaptionQueue::counts() const {
  std::lock_guard lock(mu_);
  return {.known = states_.size(),
          .pending = pending_.size(),
          .in_flight = in_flight_,
          .dropped = dropped_,
          .asked = asked_};
}

}  // namespace lantern::reward
