#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/config.h"
#include "common/version_publisher.h"
#include "lantern/v1/reward.pb.h"
#include "reward_server/store/label_store.h"

namespace lantern::reward_model {
class Distiller;
}

namespace lantern::reward {

// Distils the labels into the configured reward model (reward.model_kind)
// online and publishes its versions: `retrieval` is the label table itself;
// `classification` and `ranking` train ONI's char-CNN (ONI's schedule: many
// steps per arriving label burst while labels are few, then one). Every
// published version is also saved (atomically) to `model_path`, so that a
// restarted server continues from it and a later run can use it as a
// teacher. Thread-safe.
class ModelTrainer {
 public:
  ModelTrainer(const common::Config& config,
               common::VersionPublisher* publisher, std::string model_path,
               std::shared_ptr<spdlog::logger> log);
  ~ModelTrainer();

  // Takes the labels stored before this start, and the saved model if its
  // kind and shapes match the config (otherwise it starts afresh and says
  // so). Publishes at once when there is anything to publish.
  absl::Status Restore(const std::vector<LabelRecord>& labels);

  // New committed labels; the training thread takes them up.
  void AddLabels(const std::vector<LabelRecord>& labels);

  void Start();
  // Publishes what changed since the last version, then stops. Idempotent.
  void Stop();

  // The current model's r_int for each caption (no count, no coefficients;
  // ranking: the raw score). Version -1 when there is no model yet.
  v1::ScoreCaptionsResponse Score(const std::vector<std::string>& captions);

  // Lock-free: a status request must not wait for training steps, which
  // hold the model for seconds on a busy CPU.
  int64_t version() const { return version_.load(); }
  int64_t steps() const { return steps_.load(); }

 private:
  void Loop(std::stop_token stop);
  // Requires model_mu_. Adds examples for labels of the model's kind.
  size_t Absorb(const std::vector<LabelRecord>& labels);
  void TrainSteps(int64_t steps, std::stop_token stop);
  void Publish();  // requires nothing; takes model_mu_

  const common::Config config_;
  const std::string kind_;
  common::VersionPublisher* const publisher_;
  const std::string model_path_;
  std::shared_ptr<spdlog::logger> log_;

  mutable std::mutex model_mu_;  // the model and the table; writes of
                                 // version_ and steps_
  std::unique_ptr<reward_model::Distiller> distiller_;  // null: retrieval
  std::vector<std::string> table_captions_;             // retrieval
  std::string table_labels_;
  int64_t labels_used_ = 0;
  std::atomic<int64_t> version_{0};  // 0: nothing published yet
  std::atomic<int64_t> steps_{0};
  bool dirty_ = false;

  std::mutex inbox_mu_;
  std::condition_variable_any inbox_cv_;
  std::vector<LabelRecord> inbox_;
  std::jthread thread_;
};

}  // namespace lantern::reward
