#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace lantern::common {

// Creates (or replaces) the role's logger: coloured lines on stderr and, when
// `log_file` is not empty, the same lines appended to that file. Registers it
// as spdlog's default logger. Call once from main().
std::shared_ptr<spdlog::logger> SetUpLogging(const std::string& role,
                                             const std::string& log_file);

// Calls `report` every `interval` on its own thread until destroyed or
// Stop() is called. `report` must not block for long.
class StatsReporter {
 public:
  StatsReporter(std::chrono::milliseconds interval,
                std::function<void()> report);
  ~StatsReporter();

  // Stops the thread; does not call `report` again. Idempotent.
  void Stop();

 private:
  std::jthread thread_;
};

}  // namespace lantern::common
