#include "learner/checkpoint.h"

#include <ATen/Functions.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/files.h"

namespace lantern::learner {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "lantern_ckpt_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() +
           std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static CheckpointState State(int64_t updates) {
    CheckpointState s;
    s.env_steps = 1000 * updates;
    s.episodes = 7;
    s.updates = updates;
    s.seed = 3;
    s.consumed_ledger = "11 4 1 6\n";
    s.recent = {{1.5, 20, true}, {0.25, 100, false}};
    s.updater = std::string("model\0bytes", 11);
    s.rng = std::string("rng\0state", 9);
    s.reward_model = std::string("reward\0model", 12);
    // Captions are bytes: empty, binary, not UTF-8, with newlines.
    s.seen_captions = {"You see a key.", "", std::string("\0\xff\n", 3)};
    return s;
  }

  std::string dir_;
};

TEST_F(CheckpointTest, RoundTripsEveryField) {
  ASSERT_TRUE(SaveCheckpoint(dir_, State(5)).ok());
  absl::StatusOr<CheckpointState> s = LoadCheckpoint(dir_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->env_steps, 5000);
  EXPECT_EQ(s->episodes, 7);
  EXPECT_EQ(s->updates, 5);
  EXPECT_EQ(s->seed, 3);
  EXPECT_EQ(s->consumed_ledger, "11 4 1 6\n");
  ASSERT_EQ(s->recent.size(), 2u);
  EXPECT_DOUBLE_EQ(s->recent[0].episode_return, 1.5);
  EXPECT_EQ(s->recent[1].length, 100);
  EXPECT_FALSE(s->recent[1].success);
  EXPECT_EQ(s->updater, std::string("model\0bytes", 11));
  EXPECT_EQ(s->rng, std::string("rng\0state", 9));
  EXPECT_EQ(s->reward_model, std::string("reward\0model", 12));
  EXPECT_EQ(s->seen_captions, State(5).seen_captions);
}

TEST_F(CheckpointTest, ReadsTheFirstFormatWithoutTheNewerSections) {
  // Format 1 as an older Lantern wrote it: magic, metadata, updater,
  // FNV-1a 64 over all of it.
  const std::string meta =
      R"({"env_steps":10,"episodes":1,"updates":2,"seed":3,)"
      R"("consumed_ledger":"","recent":[]})";
  std::string bytes = "LANTERN-CKPT-1\n";
  auto put = [&](uint64_t v) {
    bytes.append(reinterpret_cast<const char*>(&v), 8);
  };
  put(meta.size());
  bytes += meta;
  put(5);
  bytes += "model";
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  put(h);
  std::filesystem::create_directories(dir_);
  ASSERT_TRUE(common::WriteFileAtomic(dir_ + "/checkpoint.bin", bytes).ok());
  absl::StatusOr<CheckpointState> s = LoadCheckpoint(dir_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->updates, 2);
  EXPECT_EQ(s->updater, "model");
  EXPECT_TRUE(s->rng.empty());
  EXPECT_TRUE(s->reward_model.empty());
  EXPECT_TRUE(s->seen_captions.empty());
}

TEST(CpuRngTest, ARestoredStateDrawsTheSameNumbersAgain) {
  const std::string state = CpuRngState();
  const at::Tensor first = at::rand({16});
  ASSERT_TRUE(RestoreCpuRng(state).ok());
  EXPECT_TRUE(at::equal(at::rand({16}), first));
  const absl::Status bad = RestoreCpuRng("not a generator state");
  EXPECT_EQ(bad.code(), absl::StatusCode::kDataLoss) << bad;
}

TEST_F(CheckpointTest, NoCheckpointIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(LoadCheckpoint(dir_).status()));
}

TEST_F(CheckpointTest, CorruptLatestFallsBackToThePreviousOne) {
  ASSERT_TRUE(SaveCheckpoint(dir_, State(5)).ok());
  ASSERT_TRUE(SaveCheckpoint(dir_, State(9)).ok());
  const std::string latest = dir_ + "/checkpoint.bin";
  absl::StatusOr<std::string> bytes = common::ReadFile(latest);
  ASSERT_TRUE(bytes.ok());
  std::string flipped = *bytes;
  flipped[flipped.size() / 2] ^= 0x5a;
  ASSERT_TRUE(common::WriteFileAtomic(latest, flipped).ok());
  std::string warning;
  absl::StatusOr<CheckpointState> s = LoadCheckpoint(dir_, &warning);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->updates, 5);
  EXPECT_NE(warning.find("checksum mismatch"), std::string::npos) << warning;
}

TEST_F(CheckpointTest, TruncatedAndCorruptBothIsDataLossNamingTheFile) {
  ASSERT_TRUE(SaveCheckpoint(dir_, State(5)).ok());
  ASSERT_TRUE(SaveCheckpoint(dir_, State(9)).ok());
  for (const char* name : {"/checkpoint.bin", "/checkpoint.prev.bin"}) {
    absl::StatusOr<std::string> bytes = common::ReadFile(dir_ + name);
    ASSERT_TRUE(bytes.ok());
    ASSERT_TRUE(common::WriteFileAtomic(dir_ + name,
                                        bytes->substr(0, bytes->size() / 3))
                    .ok());
  }
  absl::Status st = LoadCheckpoint(dir_).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("checkpoint.bin is corrupt"),
            absl::string_view::npos)
      << st;
}

}  // namespace
}  // namespace lantern::learner
