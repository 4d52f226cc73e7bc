// lantern-reward-server: annotates the captions the learner forwards, keeps
// every label in a SQLite store, distils them into the reward model and
// streams its versions (DESIGN.md, "Reward server").
#include <torch/torch.h>

#include <deque>
#include <filesystem>
#include <mutex>

#include "absl/strings/str_format.h"
#include "common/cli.h"
#include "common/files.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics_server.h"
#include "common/prometheus.h"
#include "common/scalar_log.h"
#include "common/signals.h"
#include "reward_server/annotation_pool.h"
#include "reward_server/annotator_factory.h"
#include "reward_server/label_book.h"
#include "reward_server/model_trainer.h"
#include "reward_server/reward_service.h"

namespace {

using namespace lantern;

// The live figures the status RPC, the stats line and the tests read.
class Figures {
 public:
  Figures(const common::Config& config, reward::Annotator* annotator,
          reward::LabelBook* book, reward::ModelTrainer* trainer)
      : config_(config), annotator_(annotator), book_(book), trainer_(trainer) {
    samples_.front().second = book->stats().labels_total;
  }

  v1::RewardStatus Status() const {
    const reward::LabelBook::Stats b = book_->stats();
    const reward::AnnotatorCounters& c = annotator_->counters();
    v1::RewardStatus s;
    s.set_annotator(config_.annotator.kind);
    s.set_model_kind(config_.reward.model_kind);
    s.set_model_version(trainer_->version());
    s.set_queries_total(b.queries_total);
    s.set_labels_total(b.labels_total);
    s.set_pending(b.pending);
    s.set_in_flight(uint32_t(b.in_flight));
    s.set_dropped(b.dropped);
    // Distinct queries handed to the annotator; asking again after a failed
    // attempt (the annotator's own retries, or the query put back after
    // them) is a retry.
    s.set_annotator_requests_total(b.asked);
    s.set_annotator_retries(c.retries.load() + b.failed_attempts);
    s.set_annotator_errors(c.errors.load());
    s.set_unknown_answers(c.unknown_answers.load());
    s.set_given_up(b.given_up);
    s.set_resumed(b.resumed);
    s.set_labels_per_s(Rate(b.labels_total));
    s.set_latency_p50_ms(b.latency_p50_ms);
    s.set_latency_p99_ms(b.latency_p99_ms);
    s.set_annotation_coverage(b.queries_total == 0
                                  ? 0.0
                                  : double(b.labels_total) /
                                        double(b.queries_total));
    for (const auto& [label, n] : b.label_counts) {
      (*s.mutable_label_counts())[label] = n;
    }
    s.set_distill_steps(trainer_->steps());
    return s;
  }

  // Labels per second over the last kRateWindow (since start while the
  // server is younger).
  double Rate(uint64_t labels) const {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point now = Clock::now();
    std::lock_guard lock(mu_);
    samples_.push_back({now, labels});
    while (samples_.size() > 1 && now - samples_[1].first >= kRateWindow) {
      samples_.pop_front();
    }
    const auto& [then, before] = samples_.front();
    const double dt = std::chrono::duration<double>(now - then).count();
    return dt > 0 ? double(labels - before) / dt : 0.0;
  }

  // For TensorBoard and the CSV.
  static common::Scalars Scalars(const v1::RewardStatus& s) {
    return {{"labels/total", double(s.labels_total())},
            {"labels/per_s", s.labels_per_s()},
            {"annotation/coverage", s.annotation_coverage()},
            {"annotation/pending", double(s.pending())},
            {"annotation/in_flight", double(s.in_flight())},
            {"annotator/requests_total", double(s.annotator_requests_total())},
            {"annotator/errors", double(s.annotator_errors())},
            {"annotator/unknown_answers", double(s.unknown_answers())},
            {"llm/latency_p50_ms", s.latency_p50_ms()},
            {"llm/latency_p99_ms", s.latency_p99_ms()},
            {"model/version", double(s.model_version())},
            {"model/distill_steps", double(s.distill_steps())}};
  }

  static std::string Prometheus(const v1::RewardStatus& s) {
    common::PromText p;
    p.Counter("reward_queries_total", "Distinct queries received.",
              double(s.queries_total()));
    p.Counter("reward_labels_total", "Labels stored.",
              double(s.labels_total()));
    for (const auto& [label, n] : s.label_counts()) {
      p.Counter("reward_labels_by_value_total", "Labels stored, by label.",
                double(n), {{"label", label}});
    }
    p.Counter("reward_annotator_requests_total",
              "Distinct queries handed to the annotator.",
              double(s.annotator_requests_total()));
    p.Counter("reward_annotator_retries_total", "Attempts after a failure.",
              double(s.annotator_retries()));
    p.Counter("reward_annotator_errors_total",
              "Failed annotator attempts (HTTP, timeout).",
              double(s.annotator_errors()));
    p.Counter("reward_unknown_answers_total", "Answers that did not parse.",
              double(s.unknown_answers()));
    p.Counter("reward_given_up_total", "Queries unknown after every retry.",
              double(s.given_up()));
    p.Counter("reward_dropped_total", "Pending queries dropped at the bound.",
              double(s.dropped()));
    p.Counter("reward_rejected_total", "Invalid submissions.",
              double(s.rejected()));
    p.Gauge("reward_pending", "Queries waiting for the annotator.",
            double(s.pending()));
    p.Gauge("reward_in_flight", "Queries being annotated.",
            double(s.in_flight()));
    p.Gauge("reward_labels_per_second", "Labels per second (last 30 s).",
            s.labels_per_s());
    p.Gauge("reward_annotation_coverage", "Labels / distinct queries.",
            s.annotation_coverage());
    p.Gauge("reward_annotator_latency_ms", "Annotator latency.",
            s.latency_p50_ms(), {{"quantile", "0.5"}});
    p.Gauge("reward_annotator_latency_ms", "Annotator latency.",
            s.latency_p99_ms(), {{"quantile", "0.99"}});
    p.Gauge("reward_model_version", "Newest reward-model version.",
            double(s.model_version()));
    p.Counter("reward_distill_steps_total", "Distillation steps.",
              double(s.distill_steps()));
    return p.str();
  }

  std::string Line(const v1::RewardStatus& s) const {
    return absl::StrFormat(
        "labels %d (%.1f/s) | queries %d, coverage %.3f | backlog %d, in "
        "flight %d, dropped %d | requests %d, retries %d, errors %d, unknown "
        "%d, given up %d | latency p50 %.0f ms p99 %.0f ms | model v%d, %d "
        "steps",
        s.labels_total(), s.labels_per_s(), s.queries_total(),
        s.annotation_coverage(), s.pending(), s.in_flight(), s.dropped(),
        s.annotator_requests_total(), s.annotator_retries(),
        s.annotator_errors(), s.unknown_answers(), s.given_up(),
        s.latency_p50_ms(), s.latency_p99_ms(), s.model_version(),
        s.distill_steps());
  }

 private:
  const common::Config& config_;
  reward::Annotator* const annotator_;
  reward::LabelBook* const book_;
  reward::ModelTrainer* const trainer_;
  static constexpr std::chrono::seconds kRateWindow{30};
  mutable std::mutex mu_;
  // (time, labels) at each status, the oldest at most kRateWindow old.
  mutable std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>>
      samples_{{std::chrono::steady_clock::now(), 0}};
};

int Main(const common::Config& config, const std::string& listen) {
  const std::string run_dir = config.RunDir();
  std::filesystem::create_directories(run_dir + "/logs");
  auto log = common::SetUpLogging("reward", run_dir + "/logs/reward.log");
  torch::set_num_threads(int(config.reward.torch_threads));
  const std::atomic<bool>& stop = common::InstallStopHandler();
  if (config.reward.model_kind == "none") {
    log->error("reward.model_kind is none: there is nothing to distil");
    return 2;
  }

  absl::StatusOr<std::unique_ptr<reward::Annotator>> annotator =
      reward::MakeAnnotator(config.annotator);
  if (!annotator.ok()) {
    log->error("{}", std::string(annotator.status().message()));
    return 2;
  }
  absl::StatusOr<std::unique_ptr<reward::LabelBook>> book =
      reward::LabelBook::Open(run_dir + "/labels.sqlite",
                              size_t(config.reward.backlog_capacity),
                              config.annotator.kind);
  if (!book.ok()) {
    log->error("{}", book.status().ToString());
    return 1;
  }
  common::VersionPublisher publisher;
  reward::ModelTrainer trainer(config, &publisher,
                               run_dir + "/reward_model.bin", log);
  if (absl::Status st = trainer.Restore((*book)->restored_labels()); !st.ok()) {
    log->error("{}", st.ToString());
    return 1;
  }
  const reward::LabelBook::Stats restored = (*book)->stats();
  log->info(
      "label store {}/labels.sqlite: {} queries, {} labels, {} pending "
      "resumed",
      run_dir, restored.queries_total, restored.labels_total, restored.resumed);

  absl::StatusOr<common::Security> security =
      common::LoadSecurity(config.security, /*server=*/true);
  if (!security.ok()) {
    log->error("{}", std::string(security.status().message()));
    return 2;
  }
  Figures figures(config, annotator->get(), book->get(), &trainer);
  reward::RewardService service(book->get(), &trainer, &publisher,
                                [&figures] { return figures.Status(); });
  absl::StatusOr<common::StartedServer> server = common::StartServer(
      listen, {&service}, config.MaxGrpcMessageBytes(), *security);
  if (!server.ok()) {
    log->error("{}", server.status().ToString());
    return 1;
  }
  (*book)->Start([&trainer](const std::vector<reward::LabelRecord>& labels) {
    trainer.AddLabels(labels);
  });
  trainer.Start();
  reward::AnnotationPool pool(
      annotator->get(), (*book)->queue(), int(config.annotator.concurrency),
      [b = book->get()](reward::Outcome o) { b->Record(std::move(o)); });

  const std::string address = common::DialAddress(listen, server->port);
  // Before reward.addr: whoever sees that file finds /metrics up too.
  const std::unique_ptr<common::MetricsServer> metrics =
      common::StartRoleMetrics(
          config.metrics.reward_listen, config.MetricsDir(), "reward",
          [&figures] { return Figures::Prometheus(figures.Status()); });
  if (absl::Status st =
          common::WriteFileAtomic(run_dir + "/reward.addr", address + "\n");
      !st.ok()) {
    log->error("{}", st.ToString());
    return 1;
  }
  log->info("listening on {}; annotator {}, model {}", address,
            config.annotator.kind, config.reward.model_kind);
  absl::StatusOr<std::unique_ptr<common::ScalarLog>> opened =
      common::ScalarLog::Open(config.MetricsDir(), "reward",
                              config.metrics.tensorboard, config.metrics.csv);
  if (!opened.ok()) {
    log->error("{}", opened.status().ToString());
    return 1;
  }
  const std::unique_ptr<common::ScalarLog> scalars = *std::move(opened);
  const auto started = std::chrono::steady_clock::now();
  // One stats line and one row of scalars (step: seconds since start).
  auto report = [&] {
    const v1::RewardStatus s = figures.Status();
    log->info("{}", figures.Line(s));
    if (scalars == nullptr) return;
    const int64_t step = int64_t(std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
    if (absl::Status st = scalars->Write(step, Figures::Scalars(s)); !st.ok()) {
      log->warn("{}", st.ToString());
    }
  };
  {
    common::StatsReporter reporter(
        std::chrono::milliseconds(int64_t(config.run.stats_interval_s * 1000)),
        report);
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  log->info("stopping");
  pool.Stop();      // in-flight queries stay pending in the store
  (*book)->Stop();  // stores the outcomes already in hand
  trainer.Stop();   // publishes and saves the last version
  publisher.Close();
  server->server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
  report();
  std::filesystem::remove(run_dir + "/reward.addr");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("lantern-reward-server: annotations and the reward model");
  lantern::common::RoleArgs args;
  lantern::common::AddRoleOptions(app, args);
  std::string listen;
  app.add_option("--listen", listen,
                 "host:port to listen on (default: reward.listen)");
  CLI11_PARSE(app, argc, argv);
  const lantern::common::Config config =
      lantern::common::LoadConfigOrExit(args);
  try {
    return Main(config, listen.empty() ? config.reward.listen : listen);
  } catch (const c10::Error& e) {
    spdlog::error("torch error: {}", e.what_without_backtrace());
    return 1;
  }
}
