#include "common/scalar_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"
#include "testing/local.h"

namespace lantern::common {
namespace {

namespace fs = std::filesystem;

// Runs scripts/read_events.py (an independent Python reader: crcmod's
// CRC-32C, a hand-written protobuf decoder) on `path`; its exit status and
// output.
int ReadEvents(const std::string& path, std::string* out) {
  return lantern::testing::RunCommand(
      std::string("/usr/bin/python3 ") + LANTERN_SOURCE_DIR +
          "/scripts/read_events.py --json '" + path + "'",
      out);
}

class ScalarLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("scalar_log_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string EventFilePath() const {
    for (const auto& e : fs::directory_iterator(dir_ / "learner")) {
      return e.path().string();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(ScalarLogTest, AnIndependentReaderGetsEveryScalarBack) {
  {
    absl::StatusOr<std::unique_ptr<ScalarLog>> log =
        ScalarLog::Open(dir_.string(), "learner", true, true);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(
        (*log)->Write(0, {{"episode/return", 0.0}, {"loss/total", -1.5}}).ok());
    ASSERT_TRUE((*log)
                    ->Write(4096, {{"episode/return", 0.25},
                                   {"episode/success_rate", 1.0}})
                    .ok());
    ASSERT_TRUE((*log)->Write(int64_t{1} << 40, {{"big/step", 3e9}}).ok());
  }
  const std::string file = EventFilePath();
  ASSERT_NE(file.find("events.out.tfevents."), std::string::npos) << file;
  std::string out;
  ASSERT_EQ(ReadEvents(file, &out), 0) << out;
  std::vector<nlohmann::json> rows;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    rows.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(rows.size(), 5u) << out;
  const double now = double(::time(nullptr));
  struct Want {
    int64_t step;
    const char* tag;
    double value;
  };
  const Want want[] = {{0, "episode/return", 0.0},
                       {0, "loss/total", -1.5},
                       {4096, "episode/return", 0.25},
                       {4096, "episode/success_rate", 1.0},
                       {int64_t{1} << 40, "big/step", 3e9}};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["step"].get<int64_t>(), want[i].step) << i;
    EXPECT_EQ(rows[i]["tag"].get<std::string>(), want[i].tag) << i;
    EXPECT_EQ(rows[i]["value"].get<double>(), want[i].value) << i;
    EXPECT_NEAR(rows[i]["wall_time"].get<double>(), now, 60) << i;
  }

  // The CSV holds the same rows.
  absl::StatusOr<std::string> csv = ReadFile((dir_ / "learner.csv").string());
  ASSERT_TRUE(csv.ok());
  std::istringstream in(*csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "wall_time,step,tag,value");
  for (const Want& w : want) {
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    const std::string rest = line.substr(line.find(',') + 1);
    std::ostringstream expect;
    expect << w.step << "," << w.tag << ",";
    EXPECT_EQ(rest.substr(0, expect.str().size()), expect.str()) << line;
    EXPECT_EQ(std::stod(rest.substr(rest.rfind(',') + 1)), w.value) << line;
  }
}

TEST_F(ScalarLogTest, TheReaderCatchesAFlippedByteAndATruncation) {
  {
    auto log = ScalarLog::Open(dir_.string(), "learner", true, false);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Write(7, {{"a", 1.0}}).ok());
  }
  EXPECT_FALSE(fs::exists(dir_ / "learner.csv"));  // csv off
  const std::string file = EventFilePath();
  absl::StatusOr<std::string> bytes = ReadFile(file);
  ASSERT_TRUE(bytes.ok());
  auto rewrite = [&](const std::string& b) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << b;
  };
  std::string out;
  ASSERT_EQ(ReadEvents(file, &out), 0) << out;

  std::string flipped = *bytes;
  flipped[flipped.size() - 6] ^= 0x01;  // inside the last record's data
  rewrite(flipped);
  out.clear();
  EXPECT_EQ(ReadEvents(file, &out), 1);
  EXPECT_NE(out.find("record 1"), std::string::npos) << out;
  EXPECT_NE(out.find("CRC"), std::string::npos) << out;

  rewrite(bytes->substr(0, bytes->size() - 3));
  out.clear();
  EXPECT_EQ(ReadEvents(file, &out), 1);
  EXPECT_NE(out.find("truncated"), std::string::npos) << out;
}

TEST_F(ScalarLogTest, AResumedRunAppendsToItsCsv) {
  for (int life = 0; life < 2; ++life) {
    auto log = ScalarLog::Open(dir_.string(), "reward", false, true);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Write(life, {{"labels/total", double(life)}}).ok());
  }
  absl::StatusOr<std::string> csv = ReadFile((dir_ / "reward.csv").string());
  ASSERT_TRUE(csv.ok());
  EXPECT_EQ(std::count(csv->begin(), csv->end(), '\n'), 3) << *csv;
  EXPECT_EQ(csv->find("wall_time"), 0u);
  EXPECT_EQ(csv->find("wall_time", 1), std::string::npos);  // one header
  EXPECT_FALSE(fs::exists(dir_ / "reward"));                // tensorboard off
}

TEST(ScalarLogOpenTest, BothSinksOffIsNoLogAndNoFile) {
  const std::string dir = ::testing::TempDir() + "scalar_log_off";
  absl::StatusOr<std::unique_ptr<ScalarLog>> log =
      ScalarLog::Open(dir, "learner", false, false);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*log, nullptr);
  EXPECT_FALSE(fs::exists(dir));
}

TEST(ScalarLogOpenTest, AnUnwritableFolderIsAClearError) {
  absl::StatusOr<std::unique_ptr<ScalarLog>> log =
      ScalarLog::Open("/proc/no/such/dir", "learner", true, true);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("/proc/no/such/dir"), std::string::npos)
      << log.status();
}

}  // namespace
}  // namespace lantern::common
