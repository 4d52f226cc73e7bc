#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace lantern::common {

// A TensorBoard event file of scalars: records of (uint64 length, masked
// CRC-32C of the length, a serialized Event, masked CRC-32C of the Event),
// all little-endian, the first Event carrying the file version. Not
// thread-safe.
class EventFile {
 public:
  // Creates <dir>/events.out.tfevents.<unix seconds>.<host>.<pid> (and
  // `dir`). INTERNAL naming the path if it cannot be written.
  static absl::StatusOr<std::unique_ptr<EventFile>> Create(
      const std::string& dir);
  ~EventFile();

  // Appends one Event holding `scalars` (tag, value) at `step` and flushes
  // it to the kernel. INTERNAL if the write fails.
  absl::Status Write(
      double wall_time, int64_t step,
      const std::vector<std::pair<std::string, double>>& scalars);

  const std::string& path() const { return path_; }

 private:
  EventFile(std::string path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}
  absl::Status WriteRecord(const std::string& data);

  const std::string path_;
  std::FILE* const file_;
};

}  // namespace lantern::common
