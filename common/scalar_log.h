#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/event_file.h"

namespace lantern::common {

using Scalars = std::vector<std::pair<std::string, double>>;

// A role's scalars over time, in <metrics dir>/<role>/ as a TensorBoard
// event file and in <metrics dir>/<role>.csv (header wall_time,step,tag,
// value; appended to, so a resumed run continues its curves). Not
// thread-safe.
class ScalarLog {
 public:
  // Either sink may be off; null when both are. INTERNAL naming the file if
  // one cannot be created.
  static absl::StatusOr<std::unique_ptr<ScalarLog>> Open(
      const std::string& metrics_dir, const std::string& role, bool tensorboard,
      bool csv);
  ~ScalarLog();

  // Appends `scalars` at `step` (stamped with the current time) to both
  // sinks and flushes them. INTERNAL if a write fails.
  absl::Status Write(int64_t step, const Scalars& scalars);

 private:
  ScalarLog(std::unique_ptr<EventFile> events, std::string csv_path,
            std::FILE* csv)
      : events_(std::move(events)), csv_path_(std::move(csv_path)), csv_(csv) {}

  const std::unique_ptr<EventFile> events_;  // null: off
  const std::string csv_path_;
  std::FILE* const csv_;  // null: off
};

}  // namespace lantern::common
