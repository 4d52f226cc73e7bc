#include "reward_server/store/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace lantern::reward {
namespace {

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {  // the primary result code
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::StatusCode::kDataLoss;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::BindBlob(int index, std::string_view bytes) {
  // A null data pointer would bind NULL, so "" is a zero-length zeroblob.
  const int rc = bytes.empty()
                     ? sqlite3_bind_zeroblob(stmt_, index, 0)
                     : sqlite3_bind_blob64(stmt_, index, bytes.data(),
                                           bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
}

void Statement::BindText(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text64(stmt_, index, text.empty() ? "" : text.data(),
                          text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
}

void Statement::BindInt(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
}

void Statement::BindDouble(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_rc_ != 0) return db_->Error(bind_rc_, "binding a parameter");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

std::string Statement::ColumnBytes(int column) const {
  // Ask for the bytes first, then their count (SQLite's documented order).
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), size_t(size));
}

int64_t Statement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_, column);
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(
    const std::string& path, const std::string& name) {
  sqlite3* db = nullptr;
  // NOMUTEX: the owner serialises calls, so SQLite's own mutex is not needed.
  const int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  std::unique_ptr<SqliteDb> out(new SqliteDb(path, name, db));
  if (rc != SQLITE_OK) {
    if (db == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat(name, " ", path, ": out of memory on open"));
    }
    return out->Error(rc, "opening");
  }
  sqlite3_extended_result_codes(db, 1);
  return out;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);  // all statements are finalised, so this succeeds
}

absl::Status SqliteDb::Exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, sql);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqliteDb::QueryString(const std::string& sql) {
  absl::StatusOr<std::unique_ptr<Statement>> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::InternalError(absl::StrCat(Where(), "no result from ", sql));
  }
  return (*stmt)->ColumnBytes(0);
}

absl::StatusOr<int64_t> SqliteDb::QueryInt(const std::string& sql) {
  absl::StatusOr<std::unique_ptr<Statement>> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::InternalError(absl::StrCat(Where(), "no result from ", sql));
  }
  return (*stmt)->ColumnInt(0);
}

absl::StatusOr<std::unique_ptr<Statement>> SqliteDb::Prepare(
    const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_, sql.c_str(), int(sql.size()) + 1,
                           SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, sql);
    it = statements_.emplace(sql, stmt).first;
  }
  return std::make_unique<Statement>(this, it->second);
}

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

void SqliteDb::SetBusyTimeout(int milliseconds) {
  sqlite3_busy_timeout(db_, milliseconds);
}

absl::Status SqliteDb::Error(int rc, std::string_view what) const {
  // sqlite3_errmsg describes the latest failure on this connection; for a
  // code that did not come from it (a bind), sqlite3_errstr is the text.
  const bool from_db =
      sqlite3_extended_errcode(db_) == rc || sqlite3_errcode(db_) == rc;
  const char* message = from_db ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return absl::Status(CodeFor(rc),
                      absl::StrCat(Where(), std::string(what), ": ", message,
                                   " (sqlite code ", rc, ")"));
}

std::string SqliteDb::Where() const {
  return absl::StrCat(name_, " ", path_, ": ");
}

absl::StatusOr<std::unique_ptr<Transaction>> Transaction::Begin(SqliteDb* db) {
  if (absl::Status s = db->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (open_) db_->Exec("ROLLBACK").IgnoreError();
}

absl::Status Transaction::Commit() {
  absl::Status s = db_->Exec("COMMIT");
  // A failed COMMIT may leave the transaction open (SQLITE_BUSY) or already
  // rolled back (an I/O error); the destructor's ROLLBACK covers both.
  if (s.ok()) open_ = false;
  return s;
}

}  // namespace lantern::reward
