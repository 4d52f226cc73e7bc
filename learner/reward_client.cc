#include "learner/reward_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "common/grpc_util.h"

namespace lantern::learner {
namespace {

constexpr size_t kOutboxLimit = 200000;
constexpr size_t kMaxPerSubmit = 1024;
constexpr auto kSubmitDeadline = std::chrono::seconds(10);

}  // namespace

RewardClient::RewardClient(const std::string& address,
                           const common::Config& config,
                           const common::Security& security, OnModel on_model,
                           std::shared_ptr<spdlog::logger> log)
    : ranking_(config.reward.model_kind == "ranking"),
      pairs_per_caption_(config.reward.pairs_per_caption),
      status_interval_(int64_t(config.run.stats_interval_s * 1000)),
      log_(std::move(log)),
      stub_(v1::RewardServer::NewStub(common::MakeChannel(
          address, config.MaxGrpcMessageBytes(), security))),
      rng_(uint64_t(config.run.seed) ^ 0x5eedcafe),
      watcher_(
          "reward model",
          [stub = stub_](grpc::ClientContext* context,
                         const v1::WatchRequest* request,
                         grpc::ClientReadReactor<v1::VersionChunk>* reactor) {
            stub->async()->WatchRewardModel(context, request, reactor);
          },
          [on_model = std::move(on_model)](int64_t, std::string bytes) {
            auto model = std::make_shared<v1::RewardModel>();
            if (!model->ParseFromString(bytes)) return false;
            on_model(std::move(model));
            return true;
          }),
      sender_([this](std::stop_token stop) { SendLoop(stop); }) {}

RewardClient::~RewardClient() { Stop(); }

void RewardClient::Stop() {
  watcher_.Stop();
  sender_.request_stop();
  if (sender_.joinable()) sender_.join();
}

void RewardClient::Offer(const std::vector<std::string_view>& captions) {
  bool added = false;
  {
    std::lock_guard lock(mu_);
    for (std::string_view c : captions) {
      if (c.empty()) continue;
      if (seen_.find(c) != seen_.end()) continue;  // no copy: the usual case
      auto it = seen_.emplace(c).first;
      ++stats_.distinct_captions;
      AddQueries(*it);
      added = true;
    }
  }
  if (added) cv_.notify_one();
}

void RewardClient::AddQueries(std::string_view caption) {
  if (!ranking_) {
    v1::CaptionPair q;
    q.set_first(std::string(caption));
    outbox_.push_back(std::move(q));
  } else {
    // Pairs the new caption with earlier ones, in a random order so that
    // neither position is favoured.
    for (int64_t i = 0; i < pairs_per_caption_ && !seen_list_.empty(); ++i) {
      const std::string& other =
          seen_list_[std::uniform_int_distribution<size_t>(
              0, seen_list_.size() - 1)(rng_)];
      v1::CaptionPair q;
      const bool swap = std::bernoulli_distribution(0.5)(rng_);
      q.set_first(swap ? other : std::string(caption));
      q.set_second(swap ? std::string(caption) : other);
      outbox_.push_back(std::move(q));
    }
    seen_list_.emplace_back(caption);
  }
  while (outbox_.size() > kOutboxLimit) {
    // Never delivered: forget it, so it is offered again if it recurs.
    if (!ranking_) seen_.erase(outbox_.front().first());
    outbox_.pop_front();
    ++stats_.outbox_dropped;
  }
}

void RewardClient::SendLoop(std::stop_token stop) {
  using std::chrono::milliseconds;
  milliseconds backoff(200);
  auto next_status = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    if (std::chrono::steady_clock::now() >= next_status) {
      RefreshStatus();
      next_status = std::chrono::steady_clock::now() + status_interval_;
    }
    // The batch leaves the outbox for in_flight_ while it is sent (so the
    // outbox's bound never drops what is being sent) and goes back to the
    // outbox's front if the call fails. Only this thread writes in_flight_,
    // under mu_, so it reads it here without the lock.
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, milliseconds(500),
                   [&] { return !outbox_.empty(); });
      const size_t n = std::min(outbox_.size(), kMaxPerSubmit);
      std::move(outbox_.begin(), outbox_.begin() + n,
                std::back_inserter(in_flight_));
      outbox_.erase(outbox_.begin(), outbox_.begin() + n);
    }
    if (in_flight_.empty()) continue;
    v1::SubmitCaptionsRequest request;
    for (const v1::CaptionPair& q : in_flight_) {
      if (ranking_) {
        *request.add_pairs() = q;
      } else {
        request.add_captions(q.first());
      }
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kSubmitDeadline);
    v1::SubmitCaptionsResponse response;
    const grpc::Status st = stub_->SubmitCaptions(&context, request, &response);
    std::unique_lock lock(mu_);
    std::vector<v1::CaptionPair> batch = std::move(in_flight_);
    in_flight_.clear();
    stats_.server_reachable = st.ok();
    if (st.ok()) {
      stats_.forwarded += batch.size();
      backoff = milliseconds(200);
      continue;
    }
    ++stats_.submit_errors;
    if (st.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      // The server refuses these for good (e.g. a caption over its size
      // limit): drop them rather than retry forever.
      log_->warn("reward server rejected {} captions: {}", batch.size(),
                 st.error_message());
      continue;
    }
    outbox_.insert(outbox_.begin(), std::make_move_iterator(batch.begin()),
                   std::make_move_iterator(batch.end()));
    cv_.wait_for(lock, stop, backoff, [] { return false; });
    backoff = std::min(backoff * 2, milliseconds(5000));
  }
}

std::vector<std::string> RewardClient::Delivered() const {
  std::lock_guard lock(mu_);
  std::unordered_set<std::string_view> waiting;
  auto wait_for = [&](const auto& queries) {
    for (const v1::CaptionPair& q : queries) {
      waiting.insert(q.first());
      waiting.insert(q.second());
    }
  };
  wait_for(outbox_);
  wait_for(in_flight_);
  std::vector<std::string> out;
  for (const std::string& c : seen_) {
    if (!waiting.contains(c)) out.push_back(c);
  }
  return out;
}

void RewardClient::RestoreDelivered(const std::vector<std::string>& captions) {
  std::lock_guard lock(mu_);
  for (const std::string& c : captions) {
    if (c.empty() || !seen_.insert(c).second) continue;
    // Ranking pairs new captions with these too.
    if (ranking_) seen_list_.push_back(c);
  }
}

void RewardClient::RefreshStatus() {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  v1::RewardStatus status;
  const grpc::Status st =
      stub_->GetStatus(&context, v1::RewardStatusRequest(), &status);
  std::lock_guard lock(mu_);
  stats_.server_reachable = st.ok();
  if (st.ok()) {
    stats_.server = std::move(status);
    stats_.has_server_status = true;
  }
}

RewardClient::Stats RewardClient::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.outbox = outbox_.size() + in_flight_.size();
  return s;
}

}  // namespace lantern::learner
