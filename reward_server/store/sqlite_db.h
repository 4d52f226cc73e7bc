#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace lantern::reward {

class SqliteDb;

// A cached prepared statement, borrowed from SqliteDb::Prepare until this
// handle goes out of scope, which resets it and clears its bindings. Columns
// and parameters are numbered as in SQLite: parameters from 1, columns from 0.
// Not thread-safe: used under the owner's lock.
class Statement {
 public:
  Statement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds a copy of exact bytes (NULs included); "" binds a zero-length
  // BLOB, never NULL. A bind error is kept and returned by the next Step.
  void BindBlob(int index, std::string_view bytes);
  void BindText(int index, std::string_view text);
  void BindInt(int index, int64_t value);
  void BindDouble(int index, double value);

  // Runs one step: true when a row is ready, false when done.
  absl::StatusOr<bool> Step();
  // Steps until done, for statements that return no rows.
  absl::Status Run();

  std::string ColumnBytes(int column) const;  // BLOB or TEXT, exact bytes
  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;

 private:
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = 0;  // the first failed bind's result code (0: none)
};

// One SQLite connection with a cache of prepared statements. Errors come
// back as absl::Status whose message starts with "<name> <path>: ". Not
// thread-safe: the owner serialises every call.
class SqliteDb {
 public:
  // Opens (creating if missing) the database file at `path`; `name` says
  // what it is in error messages, e.g. "label store". Reads nothing yet.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(
      const std::string& path, const std::string& name);
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs one or more statements that return no rows we need.
  absl::Status Exec(const std::string& sql);
  // Runs a statement that returns one row of one column, e.g. a PRAGMA.
  absl::StatusOr<std::string> QueryString(const std::string& sql);
  absl::StatusOr<int64_t> QueryInt(const std::string& sql);

  // Returns the cached statement for `sql`, compiling it on first use.
  absl::StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  void SetBusyTimeout(int milliseconds);

  // The status for SQLite result code `rc` (extended codes included) while
  // doing `what`, with SQLite's message.
  absl::Status Error(int rc, std::string_view what) const;
  // "<name> <path>: ", the start of every error message.
  std::string Where() const;
  const std::string& path() const { return path_; }

 private:
  SqliteDb(std::string path, std::string name, sqlite3* db)
      : path_(std::move(path)), name_(std::move(name)), db_(db) {}

  std::string path_;
  std::string name_;
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

// BEGIN IMMEDIATE on construction (taking the write lock up front, so a
// transaction never fails half-way for want of it); ROLLBACK on destruction
// unless Commit succeeded.
class Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(SqliteDb* db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Commits; durable on return when the connection runs synchronous=FULL.
  absl::Status Commit();

 private:
  explicit Transaction(SqliteDb* db) : db_(db) {}

  SqliteDb* db_;
  bool open_ = true;
};

}  // namespace lantern::reward
