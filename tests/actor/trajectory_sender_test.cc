// The actor's sender against a learner that dies before its checkpoint
// holds everything it acknowledged: a second learner on the same address,
// resumed from that checkpoint, gets back exactly what was lost.
#include "actor/trajectory_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>

#include "tests/learner/test_front_end.h"

namespace lantern::actor {
namespace {

using learner::DeliveryLedger;
using learner::test::FrontEnd;
using learner::test::MakeTrajectory;
using learner::test::TestSpec;

constexpr uint64_t kIncarnation = 5;

class TrajectorySenderTest : public ::testing::Test {
 protected:
  // Sends seqs [from, to) and waits until the sender has every ack.
  void SendAndWait(TrajectorySender& sender, uint64_t from, uint64_t to) {
    const std::atomic<bool> cancel{false};
    for (uint64_t seq = from; seq < to; ++seq) {
      ASSERT_TRUE(sender.Send(std::make_shared<v1::Trajectory>(MakeTrajectory(
                                  TestSpec(), kIncarnation, seq)),
                              cancel));
    }
    ASSERT_TRUE(sender.Flush(std::chrono::seconds(10)));
  }

  // The first learner accepts seqs 0..9, trains on 0..5 and checkpoints
  // them, then dies; the second resumes from that checkpoint on the same
  // port. Returns the second learner's ingest counters once the sender
  // has sent 10 and 11 too.
  learner::IngestCounters LearnerDiesAfterCheckpointingSix(
      size_t max_retained_bytes) {
    std::optional<FrontEnd> first(std::in_place);
    EXPECT_TRUE(first->serving());
    const int port = first->port();
    TrajectorySender sender(first->Channel(), 16, max_retained_bytes,
                            [] { return true; });
    SendAndWait(sender, 0, 10);
    EXPECT_EQ(first->ingest().Counters().accepted, 10u);
    first->ingest().MarkConsumed(
        first->ingest().PopBatch(6, std::chrono::milliseconds(0)));
    const DeliveryLedger checkpoint = first->ingest().ConsumedLedger();
    first->ingest().Committed(checkpoint);
    sender.Commit(first->ingest().CommittedPrefix(kIncarnation));
    EXPECT_EQ(sender.Counters().retained, max_retained_bytes > 0 ? 4u : 0u);
    first.reset();  // SIGKILL: 6..9 were acknowledged, never checkpointed

    FrontEnd second(port, {}, &checkpoint);
    EXPECT_TRUE(second.serving());
    SendAndWait(sender, 10, 12);
    sender.Stop();
    return second.ingest().Counters();
  }
};

TEST_F(TrajectorySenderTest, ResendsWhatTheDeadLearnerNeverCheckpointed) {
  const learner::IngestCounters c =
      LearnerDiesAfterCheckpointingSix(/*max_retained_bytes=*/1 << 20);
  EXPECT_EQ(c.accepted, 6u);  // 6..9 again, then 10 and 11
  EXPECT_EQ(c.gaps, 0u);
  EXPECT_EQ(c.duplicates, 0u);  // 0..5 were forgotten at the commit
}

TEST_F(TrajectorySenderTest, WithoutRetentionTheDeadLearnersAcksAreLost) {
  // The control: what the test above would see if the sender forgot
  // trajectories at their ack.
  const learner::IngestCounters c =
      LearnerDiesAfterCheckpointingSix(/*max_retained_bytes=*/0);
  EXPECT_EQ(c.accepted, 2u);
  EXPECT_EQ(c.gaps, 4u);
}

TEST_F(TrajectorySenderTest, RetentionIsBoundedInBytes) {
  FrontEnd learner;
  // Seqs 1..7 have the same size (seq 0 is not on the wire at all).
  const size_t one = MakeTrajectory(TestSpec(), kIncarnation, 1).ByteSizeLong();
  TrajectorySender sender(learner.Channel(), 16, 3 * one + one / 2,
                          [] { return true; });
  SendAndWait(sender, 0, 8);
  const SenderCounters c = sender.Counters();
  EXPECT_EQ(c.retained, 3u);
  EXPECT_EQ(c.retained_bytes, 3 * one);
  EXPECT_EQ(c.retained_dropped, 5u);
  sender.Commit(7);  // forgets 5 and 6, keeps 7
  EXPECT_EQ(sender.Counters().retained, 1u);
  sender.Stop();
}

}  // namespace
}  // namespace lantern::actor
