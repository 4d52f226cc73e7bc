// What Open does with files that are not a healthy label store.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "reward_server/store/label_store.h"
#include "tests/reward_server/store/store_test_util.h"

namespace lantern::reward {
namespace {

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs SQL on the file directly, as another program would.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// The error is a status (never a crash) that names the file.
void ExpectRefused(const std::string& path, absl::StatusCode code,
                   const std::string& words) {
  absl::StatusOr<std::unique_ptr<LabelStore>> store = LabelStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), code) << store.status();
  EXPECT_NE(store.status().message().find(path), std::string::npos)
      << store.status();
  EXPECT_NE(store.status().message().find(words), std::string::npos)
      << store.status();
}

TEST_F(StoreTest, CreatesMissingFolders) {
  path_ = (dir_ / "runs" / "demo" / "labels.sqlite").string();
  auto store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ(store->path(), path_);
}

TEST_F(StoreTest, GarbageFileIsRefusedAndLeftAlone) {
  for (const std::string& garbage :
       {std::string("not a database"), std::string(8192, '\x5a'),
        std::string("SQLite format 3\0garbage", 23) +
            std::string(4000, '\1')}) {
    WriteBytes(path_, garbage);
    ExpectRefused(path_, absl::StatusCode::kDataLoss, "not a database");
    EXPECT_EQ(ReadBytes(path_), garbage);
  }
}

// Fills the store with 1000 labels (~1 MB) and closes it; returns its size.
uintmax_t FillAndClose(const std::string& path) {
  {
    absl::StatusOr<std::unique_ptr<LabelStore>> store = LabelStore::Open(path);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return 0;
    for (int b = 0; b < 20; ++b) {
      std::vector<Query> queries;
      std::vector<LabelRecord> labels;
      for (int i = 0; i < 50; ++i) {
        queries.push_back(
            Single(absl::StrCat(b, "-", i, std::string(100, 'q'))));
        labels.push_back(
            MakeLabel(queries.back(), Label::kHelpful, std::string(300, 'a')));
      }
      EXPECT_TRUE((*store)->AddPending(queries, absl::Now()).ok());
      EXPECT_TRUE((*store)->PutLabels(labels).ok());
    }
  }  // the last connection checkpoints the WAL into the file and removes it
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  return std::filesystem::file_size(path);
}

TEST_F(StoreTest, TruncatedDatabaseIsRefused) {
  const uintmax_t size = FillAndClose(path_);
  ASSERT_GT(size, 100000u);
  std::filesystem::resize_file(path_, size / 2);
  ExpectRefused(path_, absl::StatusCode::kDataLoss, "malformed");
}

TEST_F(StoreTest, DamagedPageIsFoundOnOpen) {
  const uintmax_t size = FillAndClose(path_);
  ASSERT_GT(size, 100000u);
  {
    // Overwrites one page in the middle of the file, as a bad disk might.
    std::fstream f(path_, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(std::streamoff(size / 2 / 4096 * 4096));
    const std::string garbage(4096, '\x5a');
    f.write(garbage.data(), std::streamsize(garbage.size()));
  }
  ExpectRefused(path_, absl::StatusCode::kDataLoss, "quick_check");
}

TEST_F(StoreTest, NewerSchemaVersionIsRefused) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  RawExec(path_, "PRAGMA user_version = 2");
  ExpectRefused(path_, absl::StatusCode::kFailedPrecondition,
                "schema version 2 is newer");
}

TEST_F(StoreTest, AnotherProgramsDatabaseIsRefused) {
  RawExec(path_, "CREATE TABLE things (x)");
  ExpectRefused(path_, absl::StatusCode::kFailedPrecondition,
                "another program");
}

}  // namespace
}  // namespace lantern::reward
