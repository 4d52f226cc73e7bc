// Kills a writer process with SIGKILL mid-write and checks that every label it
// acknowledged survived, intact, in a database that passes integrity_check.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reward_server/store/label_store.h"
#include "tests/reward_server/store/store_test_util.h"

namespace lantern::reward {
namespace {

// Every field of label `id` follows from `id`, so the parent can check what
// the child wrote. Captions hold NULs; answers vary in size up to ~3 KB, so
// a commit spans several pages.
Query QueryFor(uint64_t id) {
  std::string first = absl::StrCat("caption ", id, std::string("\0\xff", 2));
  if (id % 3 != 0) return Single(first);
  return Pair(first, absl::StrCat("other ", id, std::string(1, '\0')));
}

LabelRecord LabelFor(uint64_t id) {
  const Query q = QueryFor(id);
  const Label label = q.is_pair()
                          ? Label(int(Label::kFirst) + (id / 3) % 3)
                          : (id % 2 ? Label::kHelpful : Label::kUnhelpful);
  LabelRecord r = MakeLabel(
      q, label,
      absl::StrCat("answer ", id,
                   std::string(100 + (id * 37) % 3000, char('a' + id % 26))),
      double(id) * 0.25);
  r.annotation.model = absl::StrCat("model-", id % 7);
  r.labelled_at = absl::FromUnixMicros(int64_t(id) * 1000 + 17);
  return r;
}

// Labels the queries in [begin, end) and reports their ids on `fd`.
void LabelAndReport(LabelStore& store, uint64_t begin, uint64_t end, int fd) {
  std::vector<LabelRecord> labels;
  std::vector<uint64_t> ids;
  for (uint64_t id = begin; id < end; ++id) {
    ids.push_back(id);
    labels.push_back(LabelFor(id));
  }
  if (!store.PutLabels(labels).ok()) _exit(5);
  const size_t bytes = ids.size() * sizeof(uint64_t);
  if (write(fd, ids.data(), bytes) != ssize_t(bytes)) _exit(6);
}

// The child: adds batches of 2..17 queries from `first_id` on and labels
// each batch in two PutLabels calls, writing each label's id to `fd` once
// PutLabels has returned. An acknowledgement is followed by AddPending or by
// PutLabels, so kills land in both. Never returns.
[[noreturn]] void WriteForever(const std::string& path, bool full,
                               uint64_t first_id, int fd) {
  absl::StatusOr<std::unique_ptr<LabelStore>> store =
      LabelStore::Open(path, {.synchronous_full = full});
  if (!store.ok()) _exit(3);
  uint64_t id = first_id;
  for (int batch = 0;; ++batch) {
    const uint64_t begin = id, end = id + 2 + batch % 16;
    std::vector<Query> queries;
    for (; id < end; ++id) queries.push_back(QueryFor(id));
    queries.push_back(Single(absl::StrCat("never labelled ", id)));
    if (!(*store)->AddPending(queries, absl::Now()).ok()) _exit(4);
    const uint64_t middle = begin + (end - begin) / 2;
    LabelAndReport(**store, begin, middle, fd);
    LabelAndReport(**store, middle, end, fd);
  }
}

// Forks a writer, reads acknowledged ids until `kill_after`, kills it with
// SIGKILL `delay` later, then reads what it had acknowledged before dying.
std::set<uint64_t> RunAndKill(const std::string& path, bool full,
                              uint64_t first_id, size_t kill_after,
                              std::chrono::microseconds delay) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    WriteForever(path, full, first_id, fds[1]);
  }
  close(fds[1]);
  std::set<uint64_t> acked;
  std::string pending_bytes;
  bool killed = false;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is gone
    pending_bytes.append(buffer, size_t(n));
    while (pending_bytes.size() >= sizeof(uint64_t)) {
      uint64_t id;
      std::memcpy(&id, pending_bytes.data(), sizeof(id));
      pending_bytes.erase(0, sizeof(id));
      acked.insert(id);
    }
    if (!killed && acked.size() >= kill_after) {
      // Not synchronisation: a delay that varies by round moves the kill
      // across the phases of the child's next transaction (statements,
      // WAL writes, fsync).
      std::this_thread::sleep_for(delay);
      EXPECT_EQ(kill(pid, SIGKILL), 0);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer exited early with status " << status;
  EXPECT_TRUE(pending_bytes.empty());  // a pipe write of < 4 KB is atomic
  return acked;
}

class CrashTest : public StoreTest,
                  public ::testing::WithParamInterface<bool> {};

TEST_P(CrashTest, AcknowledgedLabelsSurviveSigkill) {
  const bool full = GetParam();
  std::set<uint64_t> all_acked;
  int unacknowledged_commits = 0;  // rounds killed between commit and ack
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const size_t kill_after = 1 + (round * 97) % 400;
    const std::set<uint64_t> acked =
        RunAndKill(path_, full, round * 1000000, kill_after,
                   std::chrono::microseconds((round * 523) % 3000));
    ASSERT_GE(acked.size(), kill_after);
    all_acked.insert(acked.begin(), acked.end());

    // Opening runs quick_check and recovers the WAL the child left behind.
    auto store = OpenOrDie({.synchronous_full = full});
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->CheckIntegrity().ok());
    std::map<uint64_t, LabelRecord> stored;
    for (LabelRecord& r : LabelsOf(*store)) {
      const uint64_t id = std::stoull(r.annotation.raw_answer.substr(7));
      ExpectSameLabel(r, LabelFor(id));  // intact, acknowledged or not
      EXPECT_TRUE(stored.emplace(id, std::move(r)).second);
    }
    for (uint64_t id : all_acked) {
      EXPECT_TRUE(stored.contains(id))
          << "acknowledged label " << id << " is missing after round " << round;
    }
    if (stored.size() > all_acked.size()) {
      ++unacknowledged_commits;
      all_acked.clear();  // the next round's check starts from what is stored
      for (const auto& [id, r] : stored) all_acked.insert(id);
    }
  }
  std::printf("%d of %d kills fell between a commit and its acknowledgement\n",
              unacknowledged_commits, kRounds);
}

INSTANTIATE_TEST_SUITE_P(Synchronous, CrashTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Full" : "Normal";
                         });

}  // namespace
}  // namespace lantern::reward
