#pragma once

#include <string>

#include "absl/status/status.h"
#include "reward_server/store/label_store.h"
#include "reward_server/store/sqlite_db.h"

namespace lantern::reward {

// Sets up a fresh connection to a label store: busy timeout, WAL mode,
// synchronous, foreign keys, then (with options.check_on_open) a quick check;
// then creates the schema in an empty database or checks the version of an
// existing one. Errors: DATA_LOSS for a file that is not a SQLite database or
// is damaged; FAILED_PRECONDITION for an unknown or newer schema version, a
// database of another program, or a file system without WAL support.
absl::Status SetUpLabelStore(SqliteDb& db, const LabelStoreOptions& options);

// Runs PRAGMA integrity_check or quick_check (`pragma`): OK when SQLite finds
// nothing, else DATA_LOSS with its findings.
absl::Status CheckDatabase(SqliteDb& db, const std::string& pragma);

}  // namespace lantern::reward
