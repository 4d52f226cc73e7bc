#include "common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace lantern::common {

std::shared_ptr<spdlog::logger> SetUpLogging(const std::string& role,
                                             const std::string& log_file) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!log_file.empty()) {
    sinks.push_back(
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file));
  }
  auto logger =
      std::make_shared<spdlog::logger>(role, sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%n] %^%l%$ %v");
  logger->flush_on(spdlog::level::info);
  spdlog::drop(role);
  spdlog::register_logger(logger);
  spdlog::set_default_logger(logger);
  return logger;
}

StatsReporter::StatsReporter(std::chrono::milliseconds interval,
                             std::function<void()> report)
    : thread_([interval, report = std::move(report)](std::stop_token stop) {
        std::mutex mu;
        std::condition_variable_any cv;
        std::unique_lock lock(mu);
        // wait_for with a stop token wakes at once on stop.
        while (!cv.wait_for(lock, stop, interval, [] { return false; })) {
          if (stop.stop_requested()) break;
          report();
        }
      }) {}

StatsReporter::~StatsReporter() { Stop(); }

void StatsReporter::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lantern::common
