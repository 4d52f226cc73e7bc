#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "reward_server/store/label_store.h"

namespace lantern::reward {

// A fresh, empty folder per test under the test temp dir, removed afterwards.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("label_store_", info->test_suite_name(), "_",
                        info->name(), "_", ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "labels.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<LabelStore> OpenOrDie(const LabelStoreOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<LabelStore>> store =
        LabelStore::Open(path_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::filesystem::path dir_;
  std::string path_;
};

// For readable failures: captions escaped, pairs as (first, second).
inline void PrintTo(const Query& q, std::ostream* os) {
  *os << "\"" << absl::CHexEscape(q.first) << "\"";
  if (q.second) *os << " / \"" << absl::CHexEscape(*q.second) << "\"";
}

inline Query Single(std::string first) { return Query{std::move(first), {}}; }
inline Query Pair(std::string first, std::string second) {
  return Query{std::move(first), std::move(second)};
}

inline LabelRecord MakeLabel(Query query, Label label, std::string raw = "ok",
                             double score = 0.5) {
  LabelRecord r;
  r.query = std::move(query);
  r.annotation.label = label;
  r.annotation.score = score;
  r.annotation.model = "test-model";
  r.annotation.prompt_version = "test-v1";
  r.annotation.raw_answer = std::move(raw);
  r.annotator = "llm";
  r.labelled_at = absl::FromUnixSeconds(1700000000);
  return r;
}

// LoadQueries and LoadLabels, expected to succeed. (A range-for over
// `*store.LoadQueries()` would iterate a destroyed temporary.)
inline std::vector<StoredQuery> QueriesOf(LabelStore& store) {
  absl::StatusOr<std::vector<StoredQuery>> queries = store.LoadQueries();
  EXPECT_TRUE(queries.ok()) << queries.status();
  return queries.ok() ? std::move(*queries) : std::vector<StoredQuery>();
}

inline std::vector<LabelRecord> LabelsOf(LabelStore& store) {
  absl::StatusOr<std::vector<LabelRecord>> labels = store.LoadLabels();
  EXPECT_TRUE(labels.ok()) << labels.status();
  return labels.ok() ? std::move(*labels) : std::vector<LabelRecord>();
}

inline void ExpectSameLabel(const LabelRecord& a, const LabelRecord& b) {
  EXPECT_EQ(a.query, b.query);
  EXPECT_EQ(a.annotation.label, b.annotation.label);
  EXPECT_EQ(a.annotation.score, b.annotation.score);
  EXPECT_EQ(a.annotation.model, b.annotation.model);
  EXPECT_EQ(a.annotation.prompt_version, b.annotation.prompt_version);
  EXPECT_EQ(a.annotation.raw_answer, b.annotation.raw_answer);
  EXPECT_EQ(a.annotator, b.annotator);
  EXPECT_EQ(a.labelled_at, b.labelled_at);
}

}  // namespace lantern::reward
