#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "reward_server/annotator.h"

namespace lantern::reward {

class SqliteDb;

// Where a query stands. Only pending queries are sent to the annotator; the
// other states are final, except that a label or a give-up may still arrive
// for a query dropped while its annotation was under way.
enum class QueryState : int {
  kPending = 0,   // received, waiting for (or under) annotation
  kLabelled = 1,  // has exactly one label
  kGivenUp = 2,   // the annotator never answered parseably; never re-asked
  kDropped = 3,   // evicted from the server's bounded backlog
};

// "pending", "labelled", "given_up", "dropped".
std::string_view QueryStateName(QueryState state);

struct StoredQuery {
  Query query;
  QueryState state = QueryState::kPending;
  absl::Time arrived;
};

// One label with what produced it.
struct LabelRecord {
  Query query;
  Annotation annotation;  // its label is never kUnknown
  std::string annotator;  // Annotator::kind(): "llm", "embedding", ...
  absl::Time labelled_at;
};

struct LabelStoreCounts {
  int64_t pending = 0;
  int64_t labelled = 0;
  int64_t given_up = 0;
  int64_t dropped = 0;
  std::map<Label, int64_t> per_label;  // labels present only
};

struct LabelStoreOptions {
  // FULL: a commit survives power loss (the WAL is fsynced on every commit).
  // NORMAL: a commit survives the process being killed, but the last
  // commits may be lost on power loss (the WAL is fsynced at checkpoints
  // only). The server acknowledges what it stored, so FULL by default.
  bool synchronous_full = true;
  // How long a write waits for another connection's lock.
  int busy_timeout_ms = 10000;
  // Runs PRAGMA quick_check on open (reads the whole file once) so that a
  // damaged database is refused at start rather than part-way through a run.
  bool check_on_open = true;
};

// The durable record of every query the reward server received and every
// label it obtained: a SQLite database in WAL mode, usually
// runs/<name>/labels.sqlite.
//
// A query is keyed by its exact bytes: a pair by (first, second), a single
// caption by first alone; the pair ("a", "") and the caption "a" differ.
//
// Thread-safe: every method takes one mutex around the single connection,
// so calls are serialised; writers block while another call commits. Every
// write is one transaction and is durable when the call returns (with
// synchronous_full). Errors name the database's path; besides those listed,
// any method may return SQLite's: UNAVAILABLE (locked past the busy
// timeout), DATA_LOSS (a damaged file), RESOURCE_EXHAUSTED (disk full),
// INTERNAL (an I/O error).
class LabelStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens the database at `path`, creating it (and missing parent folders)
  // if absent. Errors: DATA_LOSS when the file is not a SQLite database or is
  // damaged; FAILED_PRECONDITION for a schema version this build does not
  // know (a newer one) or a database of some other program; others from
  // SQLite (e.g. UNAVAILABLE when it stays locked past the busy timeout).
  static absl::StatusOr<std::unique_ptr<LabelStore>> Open(
      const std::string& path, const LabelStoreOptions& options = {});
  ~LabelStore();

  // In one transaction, adds each query not yet known as pending, arrived at
  // `now`. Returns, per query, whether it was new; known queries, whatever
  // their state, are unchanged (a query repeated within `queries` is new
  // once). Blocks until the transaction is durable.
  absl::StatusOr<std::vector<bool>> AddPending(std::span<const Query> queries,
                                               absl::Time now);

  // In one transaction, stores each label and moves its query (pending,
  // dropped or given up) to labelled. Blocks until durable, so a label is on
  // disk before the caller acknowledges or uses it. Errors, nothing changed:
  // NOT_FOUND for a query never added; ALREADY_EXISTS for a query already
  // labelled (or twice in `labels`); INVALID_ARGUMENT for kUnknown or a label
  // of the wrong kind (first/second/tie for pairs, helpful/unhelpful for single
  // captions).
  absl::Status PutLabels(std::span<const LabelRecord> labels);

  // In one transaction, moves pending and dropped queries to given up;
  // labelled and given-up ones are unchanged. NOT_FOUND (nothing changed)
  // for a query never added. Blocks until durable.
  absl::Status MarkGivenUp(std::span<const Query> queries);

  // In one transaction, moves pending queries to dropped; others are
  // unchanged. NOT_FOUND (nothing changed) for a query never added. Blocks
  // until durable.
  absl::Status MarkDropped(std::span<const Query> queries);

  // Every query with its state, oldest arrival first (ties in the order
  // added), so pending ones rebuild the backlog in arrival order.
  absl::StatusOr<std::vector<StoredQuery>> LoadQueries();

  // Every label with its metadata, in the order stored. DATA_LOSS for a
  // label name this build does not know.
  absl::StatusOr<std::vector<LabelRecord>> LoadLabels();

  // How many queries are in each state, and how many labels of each kind.
  absl::StatusOr<LabelStoreCounts> Counts();

  // PRAGMA integrity_check: OK, or DATA_LOSS with SQLite's first findings.
  absl::Status CheckIntegrity();

  const std::string& path() const { return path_; }

 private:
  LabelStore(std::string path, std::unique_ptr<SqliteDb> db);

  // "label store <path>: ", the start of every error message.
  std::string Where() const;
  // Moves known queries in a state in `from` to `to`, in one transaction.
  absl::Status MoveState(std::span<const Query> queries,
                         std::initializer_list<QueryState> from, QueryState to);

  const std::string path_;
  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;  // guarded by mu_
};

}  // namespace lantern::reward
