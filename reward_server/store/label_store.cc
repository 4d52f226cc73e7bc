#include "reward_server/store/label_store.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "reward_server/store/label_store_schema.h"
#include "reward_server/store/sqlite_db.h"

namespace lantern::reward {
namespace {

constexpr std::array<std::string_view, 4> kStateNames = {"pending", "labelled",
                                                         "given_up", "dropped"};

constexpr char kFindQuery[] =
    "SELECT id, state FROM queries WHERE is_pair = ?1 AND first = ?2 AND "
    "second = ?3";

void BindKey(Statement& stmt, const Query& q) {
  stmt.BindInt(1, q.is_pair() ? 1 : 0);
  stmt.BindBlob(2, q.first);
  stmt.BindBlob(3, q.second ? std::string_view(*q.second) : "");
}

Query KeyFromColumns(const Statement& stmt, int column) {
  Query q;
  q.first = stmt.ColumnBytes(column + 1);
  if (stmt.ColumnInt(column) != 0) q.second = stmt.ColumnBytes(column + 2);
  return q;
}

// A short, printable form of a query for error messages.
std::string Describe(const Query& q) {
  auto shorten = [](const std::string& s) {
    std::string out = absl::CHexEscape(s.substr(0, 60));
    return s.size() > 60 ? absl::StrCat("\"", out, "...\"")
                         : absl::StrCat("\"", out, "\"");
  };
  if (!q.is_pair()) return shorten(q.first);
  return absl::StrCat("(", shorten(q.first), ", ", shorten(*q.second), ")");
}

std::optional<QueryState> StateFromName(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return QueryState(i);
  }
  return std::nullopt;
}

struct Found {
  int64_t id;
  QueryState state;
};

// The query's row id and state; nullopt when it is not known.
absl::StatusOr<std::optional<Found>> FindQuery(SqliteDb& db, const Query& q) {
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<Statement> stmt,
                           db.Prepare(kFindQuery));
  BindKey(*stmt, q);
  LANTERN_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<Found>();
  std::optional<QueryState> state = StateFromName(stmt->ColumnBytes(1));
  if (!state) {
    return absl::DataLossError(
        absl::StrCat(db.Where(), "unknown state for query ", Describe(q)));
  }
  return Found{stmt->ColumnInt(0), *state};
}

absl::Status CheckLabelKind(const LabelRecord& r) {
  const Label label = r.annotation.label;
  const bool pair_label =
      label == Label::kFirst || label == Label::kSecond || label == Label::kTie;
  const bool single_label =
      label == Label::kHelpful || label == Label::kUnhelpful;
  if (r.query.is_pair() ? pair_label : single_label) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "label \"", std::string(LabelName(label)), "\" cannot label the ",
      r.query.is_pair() ? "pair " : "caption ", Describe(r.query)));
}

}  // namespace

std::string_view QueryStateName(QueryState state) {
  return kStateNames[size_t(state)];
}

LabelStore::LabelStore(std::string path, std::unique_ptr<SqliteDb> db)
    : path_(std::move(path)), db_(std::move(db)) {}

LabelStore::~LabelStore() = default;

std::string LabelStore::Where() const { return db_->Where(); }

absl::StatusOr<std::unique_ptr<LabelStore>> LabelStore::Open(
    const std::string& path, const LabelStoreOptions& options) {
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  if (std::error_code ec; !parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "label store ", path, ": cannot create its folder: ", ec.message()));
    }
  }
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                           SqliteDb::Open(path, "label store"));
  LANTERN_RETURN_IF_ERROR(SetUpLabelStore(*db, options));
  return std::unique_ptr<LabelStore>(new LabelStore(path, std::move(db)));
}

absl::StatusOr<std::vector<bool>> LabelStore::AddPending(
    std::span<const Query> queries, absl::Time now) {
  std::vector<bool> added;
  added.reserve(queries.size());
  if (queries.empty()) return added;
  std::lock_guard lock(mu_);
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn,
                           Transaction::Begin(db_.get()));
  for (const Query& q : queries) {
    LANTERN_ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> stmt,
        db_->Prepare("INSERT INTO queries (is_pair, first, second, state, "
                     "arrived_us) VALUES (?1, ?2, ?3, 'pending', ?4) "
                     "ON CONFLICT (is_pair, first, second) DO NOTHING"));
    BindKey(*stmt, q);
    stmt->BindInt(4, absl::ToUnixMicros(now));
    LANTERN_RETURN_IF_ERROR(stmt->Run());
    added.push_back(db_->Changes() == 1);
  }
  LANTERN_RETURN_IF_ERROR(txn->Commit());
  return added;
}

absl::Status LabelStore::PutLabels(std::span<const LabelRecord> labels) {
  for (const LabelRecord& r : labels) {
    LANTERN_RETURN_IF_ERROR(CheckLabelKind(r));
  }
  if (labels.empty()) return absl::OkStatus();
  std::lock_guard lock(mu_);
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn,
                           Transaction::Begin(db_.get()));
  for (const LabelRecord& r : labels) {
    LANTERN_ASSIGN_OR_RETURN(std::optional<Found> found,
                             FindQuery(*db_, r.query));
    if (!found) {
      return absl::NotFoundError(absl::StrCat(
          Where(), "cannot label unknown query ", Describe(r.query)));
    }
    if (found->state == QueryState::kLabelled) {
      return absl::AlreadyExistsError(absl::StrCat(
          Where(), "query ", Describe(r.query), " is already labelled"));
    }
    LANTERN_ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> insert,
        db_->Prepare("INSERT INTO labels (query_id, label, annotator, model, "
                     "prompt_version, raw_answer, score, labelled_us) VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    insert->BindInt(1, found->id);
    insert->BindText(2, LabelName(r.annotation.label));
    insert->BindText(3, r.annotator);
    insert->BindText(4, r.annotation.model);
    insert->BindText(5, r.annotation.prompt_version);
    insert->BindBlob(6, r.annotation.raw_answer);
    insert->BindDouble(7, r.annotation.score);
    insert->BindInt(8, absl::ToUnixMicros(r.labelled_at));
    LANTERN_RETURN_IF_ERROR(insert->Run());
    LANTERN_ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> update,
        db_->Prepare("UPDATE queries SET state = 'labelled' WHERE id = ?1"));
    update->BindInt(1, found->id);
    LANTERN_RETURN_IF_ERROR(update->Run());
  }
  return txn->Commit();
}

absl::Status LabelStore::MarkGivenUp(std::span<const Query> queries) {
  return MoveState(queries, {QueryState::kPending, QueryState::kDropped},
                   QueryState::kGivenUp);
}

absl::Status LabelStore::MarkDropped(std::span<const Query> queries) {
  return MoveState(queries, {QueryState::kPending}, QueryState::kDropped);
}

absl::Status LabelStore::MoveState(std::span<const Query> queries,
                                   std::initializer_list<QueryState> from,
                                   QueryState to) {
  if (queries.empty()) return absl::OkStatus();
  std::lock_guard lock(mu_);
  LANTERN_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn,
                           Transaction::Begin(db_.get()));
  for (const Query& q : queries) {
    LANTERN_ASSIGN_OR_RETURN(std::optional<Found> found, FindQuery(*db_, q));
    if (!found) {
      return absl::NotFoundError(
          absl::StrCat(Where(), "cannot mark unknown query ", Describe(q),
                       " as ", std::string(QueryStateName(to))));
    }
    if (std::find(from.begin(), from.end(), found->state) == from.end()) {
      continue;
    }
    LANTERN_ASSIGN_OR_RETURN(
        std::unique_ptr<Statement> update,
        db_->Prepare("UPDATE queries SET state = ?1 WHERE id = ?2"));
    update->BindText(1, QueryStateName(to));
    update->BindInt(2, found->id);
    LANTERN_RETURN_IF_ERROR(update->Run());
  }
  return txn->Commit();
}

absl::StatusOr<std::vector<StoredQuery>> LabelStore::LoadQueries() {
  std::lock_guard lock(mu_);
  LANTERN_ASSIGN_OR_RETURN(
      std::unique_ptr<Statement> stmt,
      db_->Prepare("SELECT is_pair, first, second, state, arrived_us FROM "
                   "queries ORDER BY arrived_us, id"));
  std::vector<StoredQuery> out;
  while (true) {
    LANTERN_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    StoredQuery& q = out.emplace_back();
    q.query = KeyFromColumns(*stmt, 0);
    std::optional<QueryState> state = StateFromName(stmt->ColumnBytes(3));
    if (!state) {
      return absl::DataLossError(
          absl::StrCat(Where(), "unknown state \"",
                       absl::CHexEscape(stmt->ColumnBytes(3)), "\""));
    }
    q.state = *state;
    q.arrived = absl::FromUnixMicros(stmt->ColumnInt(4));
  }
  return out;
}

absl::StatusOr<std::vector<LabelRecord>> LabelStore::LoadLabels() {
  std::lock_guard lock(mu_);
  LANTERN_ASSIGN_OR_RETURN(
      std::unique_ptr<Statement> stmt,
      db_->Prepare("SELECT q.is_pair, q.first, q.second, l.label, "
                   "l.annotator, l.model, l.prompt_version, l.raw_answer, "
                   "l.score, l.labelled_us FROM labels l JOIN queries q ON "
                   "q.id = l.query_id ORDER BY l.id"));
  std::vector<LabelRecord> out;
  while (true) {
    LANTERN_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    LabelRecord& r = out.emplace_back();
    r.query = KeyFromColumns(*stmt, 0);
    const std::string name = stmt->ColumnBytes(3);
    std::optional<Label> label = LabelFromName(name);
    if (!label || *label == Label::kUnknown) {
      return absl::DataLossError(absl::StrCat(Where(), "unknown label \"",
                                              absl::CHexEscape(name), "\""));
    }
    r.annotation.label = *label;
    r.annotator = stmt->ColumnBytes(4);
    r.annotation.model = stmt->ColumnBytes(5);
    r.annotation.prompt_version = stmt->ColumnBytes(6);
    r.annotation.raw_answer = stmt->ColumnBytes(7);
    r.annotation.score = stmt->ColumnDouble(8);
    r.labelled_at = absl::FromUnixMicros(stmt->ColumnInt(9));
  }
  return out;
}

absl::StatusOr<LabelStoreCounts> LabelStore::Counts() {
  std::lock_guard lock(mu_);
  LabelStoreCounts counts;
  LANTERN_ASSIGN_OR_RETURN(
      std::unique_ptr<Statement> states,
      db_->Prepare("SELECT count(*) FILTER (WHERE state = 'pending'), "
                   "count(*) FILTER (WHERE state = 'labelled'), "
                   "count(*) FILTER (WHERE state = 'given_up'), "
                   "count(*) FILTER (WHERE state = 'dropped') FROM queries"));
  LANTERN_RETURN_IF_ERROR(states->Step().status());
  counts.pending = states->ColumnInt(0);
  counts.labelled = states->ColumnInt(1);
  counts.given_up = states->ColumnInt(2);
  counts.dropped = states->ColumnInt(3);
  LANTERN_ASSIGN_OR_RETURN(
      std::unique_ptr<Statement> labels,
      db_->Prepare("SELECT label, count(*) FROM labels GROUP BY label"));
  while (true) {
    LANTERN_ASSIGN_OR_RETURN(bool row, labels->Step());
    if (!row) break;
    std::optional<Label> label = LabelFromName(labels->ColumnBytes(0));
    if (!label) return absl::DataLossError(Where() + "unknown label");
    counts.per_label[*label] = labels->ColumnInt(1);
  }
  return counts;
}

absl::Status LabelStore::CheckIntegrity() {
  std::lock_guard lock(mu_);
  return CheckDatabase(*db_, "PRAGMA integrity_check(10)");
}

}  // namespace lantern::reward
