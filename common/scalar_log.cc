#include "common/scalar_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace lantern::common {

absl::StatusOr<std::unique_ptr<ScalarLog>> ScalarLog::Open(
    const std::string& metrics_dir, const std::string& role, bool tensorboard,
    bool csv) {
  if (!tensorboard && !csv) return nullptr;
  std::unique_ptr<EventFile> events;
  if (tensorboard) {
    absl::StatusOr<std::unique_ptr<EventFile>> e =
        EventFile::Create(metrics_dir + "/" + role);
    if (!e.ok()) return e.status();
    events = *std::move(e);
  }
  std::FILE* f = nullptr;
  const std::string csv_path = metrics_dir + "/" + role + ".csv";
  if (csv) {
    std::error_code ec;
    std::filesystem::create_directories(metrics_dir, ec);
    f = std::fopen(csv_path.c_str(), "a");
    if (f == nullptr) {
      return absl::InternalError("cannot open " + csv_path + ": " +
                                 std::strerror(errno));
    }
    if (std::ftell(f) == 0) std::fputs("wall_time,step,tag,value\n", f);
  }
  return std::unique_ptr<ScalarLog>(
      new ScalarLog(std::move(events), csv_path, f));
}

ScalarLog::~ScalarLog() {
  if (csv_ != nullptr) std::fclose(csv_);
}

absl::Status ScalarLog::Write(int64_t step, const Scalars& scalars) {
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  if (events_ != nullptr) {
    if (absl::Status st = events_->Write(now, step, scalars); !st.ok()) {
      return st;
    }
  }
  if (csv_ == nullptr) return absl::OkStatus();
  for (const auto& [tag, value] : scalars) {
    // %.17g: the CSV holds the same double the event file rounds to float.
    std::fprintf(csv_, "%.6f,%lld,%s,%.17g\n", now,
                 static_cast<long long>(step), tag.c_str(), value);
  }
  if (std::fflush(csv_) != 0 || std::ferror(csv_)) {
    return absl::InternalError("cannot write " + csv_path_ + ": " +
                               std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace lantern::common
