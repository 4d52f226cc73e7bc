#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lantern::common {

// Writes `contents` to `path` so that a reader sees either the old file or
// the whole new one, even after a crash: temporary file, fsync, rename, fsync
// of the folder. Creates missing parent folders.
absl::Status WriteFileAtomic(const std::string& path,
                             const std::string& contents);

// Reads a whole file. NOT_FOUND if it does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace lantern::common
