#include "reward_server/store/label_store_schema.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"

namespace lantern::reward {
namespace {

// Version 1. Captions live in BLOB columns, compared byte for byte. A single
// caption stores second = x'' with is_pair = 0, so the key has no NULLs (which
// are all distinct in a UNIQUE constraint) and the pair ("a", "") differs from
// the caption "a" by is_pair. States and labels are stored by name, so the
// file reads well in the sqlite3 shell; labels.query_id is UNIQUE, so a query
// can never hold two labels.
constexpr char kSchema[] = R"sql(
CREATE TABLE queries (
  id INTEGER PRIMARY KEY,
  is_pair INTEGER NOT NULL CHECK (is_pair IN (0, 1)),
  first BLOB NOT NULL,
  second BLOB NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('pending', 'labelled', 'given_up', 'dropped')),
  arrived_us INTEGER NOT NULL,  -- Unix time, microseconds
  CHECK (is_pair = 1 OR second = x''),
  UNIQUE (is_pair, first, second)
);
CREATE TABLE labels (
  id INTEGER PRIMARY KEY,
  query_id INTEGER NOT NULL UNIQUE REFERENCES queries (id),
  label TEXT NOT NULL
    CHECK (label IN ('unhelpful', 'helpful', 'first', 'second', 'tie')),
  annotator TEXT NOT NULL,
  model TEXT NOT NULL,
  prompt_version TEXT NOT NULL,
  raw_answer BLOB NOT NULL,
  score REAL NOT NULL,
  labelled_us INTEGER NOT NULL  -- Unix time, microseconds
);
)sql";

absl::Status Refuse(const SqliteDb& db, std::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat(db.Where(), std::string(why)));
}

absl::Status CreateOrCheckSchema(SqliteDb& db) {
  constexpr int kVersion = LabelStore::kSchemaVersion;
  // In a write transaction, so that two processes opening a new file at
  // once do not both create the tables.
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn,
                           Transaction::Begin(&db));
  LANTERN_ASSIGN_OR_RETURN(int64_t version, db.QueryInt("PRAGMA user_version"));
  if (version == kVersion) return txn->Commit();
  if (version > kVersion) {
    return Refuse(db, absl::StrCat("schema version ", version,
                                   " is newer than this build's version ",
                                   kVersion, "; run a newer build"));
  }
  if (version != 0) {
    return Refuse(db, absl::StrCat("unknown schema version ", version));
  }
  LANTERN_ASSIGN_OR_RETURN(int64_t objects,
                           db.QueryInt("SELECT count(*) FROM sqlite_schema"));
  if (objects != 0) {
    return Refuse(db,
                  "the database has tables but no label-store schema "
                  "version; it belongs to another program");
  }
  LANTERN_RETURN_IF_ERROR(db.Exec(kSchema));
  LANTERN_RETURN_IF_ERROR(
      db.Exec(absl::StrCat("PRAGMA user_version = ", kVersion)));
  return txn->Commit();
}

}  // namespace

absl::Status SetUpLabelStore(SqliteDb& db, const LabelStoreOptions& options) {
  db.SetBusyTimeout(options.busy_timeout_ms);
  // The first statement that reads the file: one that is not a database
  // fails here with SQLITE_NOTADB. WAL mode is persistent, set once per file.
  LANTERN_ASSIGN_OR_RETURN(std::string mode,
                           db.QueryString("PRAGMA journal_mode = WAL"));
  if (mode != "wal") {
    return Refuse(db, absl::StrCat("cannot use WAL mode (got \"", mode,
                                   "\"); is it on a network file system?"));
  }
  // In WAL mode, FULL fsyncs the WAL at every commit, so a commit survives
  // power loss; NORMAL fsyncs only at checkpoints, so a commit survives the
  // process being killed (it is in the OS's page cache) but the latest ones
  // may be lost when the machine goes down. See LabelStoreOptions.
  LANTERN_RETURN_IF_ERROR(db.Exec(options.synchronous_full
                                      ? "PRAGMA synchronous = FULL"
                                      : "PRAGMA synchronous = NORMAL"));
  LANTERN_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON"));
  if (options.check_on_open) {
    LANTERN_RETURN_IF_ERROR(CheckDatabase(db, "PRAGMA quick_check(10)"));
  }
  return CreateOrCheckSchema(db);
}

absl::Status CheckDatabase(SqliteDb& db, const std::string& pragma) {
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<Statement> stmt, db.Prepare(pragma));
  std::vector<std::string> findings;
  while (true) {
    LANTERN_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    findings.push_back(stmt->ColumnBytes(0));
  }
  if (findings.size() == 1 && findings[0] == "ok") return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      db.Where(), "the database is damaged: ", absl::StrJoin(findings, "; ")));
}

}  // namespace lantern::reward
