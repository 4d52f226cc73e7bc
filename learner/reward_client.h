#pragma once

#include <spdlog/logger.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/config.h"
#include "common/security.h"
#include "common/string_hash.h"
#include "common/version_watcher.h"
#include "lantern/v1/reward.grpc.pb.h"

namespace lantern::learner {

// The learner's side of the reward server: forwards captions it has not seen
// before (for ranking, pairs of them), follows the reward model's versions
// and polls the server's status. Never blocks the caller on the network:
// with the server down, captions wait in a bounded outbox and training goes
// on with whatever model it has (none: r_int = 0). Thread-safe.
class RewardClient {
 public:
  using OnModel = std::function<void(std::shared_ptr<const v1::RewardModel>)>;

  RewardClient(const std::string& address, const common::Config& config,
               const common::Security& security, OnModel on_model,
               std::shared_ptr<spdlog::logger> log);
  ~RewardClient();

  // Queues the non-empty captions not offered before. Cheap for captions
  // already seen (one hash lookup each).
  void Offer(const std::vector<std::string_view>& captions);

  struct Stats {
    uint64_t distinct_captions = 0;  // offered and new
    uint64_t forwarded = 0;          // queries the server acknowledged
    uint64_t outbox = 0;             // waiting to be sent
    uint64_t outbox_dropped = 0;     // oldest dropped at the outbox bound
    uint64_t submit_errors = 0;
    bool server_reachable = false;  // the last call succeeded
    bool has_server_status = false;
    v1::RewardStatus server;  // the last status polled
  };
  Stats stats() const;

  // The captions offered so far that no query in the outbox or in flight
  // mentions: their queries were acknowledged by the server, refused by it
  // for good, or (ranking only) dropped at the outbox bound; a restarted
  // learner does not offer them again. For checkpoints.
  std::vector<std::string> Delivered() const;

  // Takes `captions` as offered and delivered before a restart (from a
  // checkpoint): they are not offered again. Call before Offer.
  void RestoreDelivered(const std::vector<std::string>& captions);

  // Asks the server for its status now (at most 2 s) and keeps it: for the
  // final summary.
  void RefreshStatus();

  void Stop();

 private:
  void SendLoop(std::stop_token stop);
  void AddQueries(std::string_view caption);  // requires mu_

  const bool ranking_;
  const int64_t pairs_per_caption_;
  const std::chrono::milliseconds status_interval_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<v1::RewardServer::Stub> stub_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::unordered_set<std::string, common::StringHash, std::equal_to<>> seen_;
  std::vector<std::string> seen_list_;  // for ranking pairs
  std::deque<v1::CaptionPair> outbox_;  // second empty for single captions
  // Out of the outbox, being sent; written by the sender thread only.
  std::vector<v1::CaptionPair> in_flight_;
  std::mt19937_64 rng_;
  Stats stats_;

  common::VersionWatcher watcher_;
  std::jthread sender_;
};

}  // namespace lantern::learner
