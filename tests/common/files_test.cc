#include "common/files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace lantern::common {
namespace {

namespace fs = std::filesystem;

// A fresh, empty folder per test, removed afterwards.
class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("files_test_") + info->name() + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> Entries(const fs::path& dir) const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

  fs::path dir_;
};

TEST_F(FilesTest, WriteCreatesMissingParents) {
  const fs::path path = dir_ / "a" / "b" / "c.txt";
  ASSERT_TRUE(WriteFileAtomic(path.string(), "hello").ok());
  absl::StatusOr<std::string> read = ReadFile(path.string());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "hello");
}

TEST_F(FilesTest, WriteReplacesContentsAndLeavesNoTempFile) {
  const fs::path path = dir_ / "state.bin";
  ASSERT_TRUE(WriteFileAtomic(path.string(), std::string(1000, 'x')).ok());
  ASSERT_TRUE(WriteFileAtomic(path.string(), "short").ok());
  EXPECT_EQ(*ReadFile(path.string()), "short");  // truncated, not overlaid
  EXPECT_EQ(Entries(dir_), std::vector<std::string>{"state.bin"});
}

TEST_F(FilesTest, RoundTripsBinaryAndEmptyContents) {
  const fs::path path = dir_ / "blob";
  const std::string binary("\x00\x01\xff\n\r\x00tail", 9);
  ASSERT_TRUE(WriteFileAtomic(path.string(), binary).ok());
  EXPECT_EQ(*ReadFile(path.string()), binary);
  ASSERT_TRUE(WriteFileAtomic(path.string(), "").ok());
  EXPECT_EQ(*ReadFile(path.string()), "");
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST_F(FilesTest, WriteFailsWhenParentIsAFile) {
  const fs::path blocker = dir_ / "file";
  ASSERT_TRUE(WriteFileAtomic(blocker.string(), "x").ok());
  const absl::Status st =
      WriteFileAtomic((blocker / "child.txt").string(), "y");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(*ReadFile(blocker.string()), "x");
}

TEST_F(FilesTest, ReadMissingFileIsNotFound) {
  const absl::StatusOr<std::string> read =
      ReadFile((dir_ / "missing.txt").string());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("missing.txt"), std::string::npos);
}

}  // namespace
}  // namespace lantern::common
