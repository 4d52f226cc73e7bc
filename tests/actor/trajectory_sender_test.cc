// The actor's sender against a learner that dies before its checkpoint
// holds everything it acknowledged: a second learner on the same address,
// resumed from that checkpoint, gets back exactly what was lost; and
// against a stream that breaks while its learner lives on, which costs no
// resend of what was acknowledged.
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

  struct Outcome {
    learner::IngestCounters second;  // the second learner's
    SenderCounters sender;
  };

  // The first learner (boot id 1) accepts seqs 0..9 and trains on the first
  // `held`; with `checkpointed` its checkpoint holds those and it tells the
  // sender so. Then it is gone, and a second one with boot id `second_boot`
  // serves the same port holding what the first trained on: a restart from
  // the checkpoint with a new boot id, the same learner behind a broken
  // stream with boot id 1. Returns the counters once the sender has sent 10
  // and 11 too.
  Outcome SecondLearner(size_t max_retained_bytes, size_t held,
                        bool checkpointed, uint64_t second_boot) {
    std::optional<FrontEnd> first(std::in_place);
    EXPECT_TRUE(first->serving());
    const int port = first->port();
    // The learner's boot id as a registration would answer it.
    std::atomic<uint64_t> boot{1};
    TrajectorySender sender(first->Channel(), 16, max_retained_bytes,
                            [&] { return std::optional<uint64_t>(boot); });
    SendAndWait(sender, 0, 10);
    EXPECT_EQ(first->ingest().Counters().accepted, 10u);
    first->ingest().MarkConsumed(
        first->ingest().PopBatch(held, std::chrono::milliseconds(0)));
    const DeliveryLedger ledger = first->ingest().ConsumedLedger();
    if (checkpointed) {
      first->ingest().Committed(ledger);
      sender.Commit(first->ingest().CommittedPrefix(kIncarnation));
    }
    boot = second_boot;  // whatever answers next
    first.reset();

    FrontEnd second(port, {}, &ledger);
    EXPECT_TRUE(second.serving());
    SendAndWait(sender, 10, 12);
    const SenderCounters counters = sender.Counters();
    sender.Stop();
    return {second.ingest().Counters(), counters};
  }
};

TEST_F(TrajectorySenderTest, ResendsWhatTheDeadLearnerNeverCheckpointed) {
  // SIGKILL: 6..9 were acknowledged, never checkpointed.
  const Outcome o = SecondLearner(/*max_retained_bytes=*/1 << 20, 6,
                                  /*checkpointed=*/true, /*second_boot=*/2);
  EXPECT_EQ(o.second.accepted, 6u);  // 6..9 again, then 10 and 11
  EXPECT_EQ(o.second.gaps, 0u);
  EXPECT_EQ(o.second.duplicates, 0u);  // 0..5 were forgotten at the commit
  EXPECT_EQ(o.sender.retained_resent, 4u);
}

TEST_F(TrajectorySenderTest, WithoutRetentionTheDeadLearnersAcksAreLost) {
  // The control: what the test above would see if the sender forgot
  // trajectories at their ack.
  const Outcome o = SecondLearner(/*max_retained_bytes=*/0, 6,
                                  /*checkpointed=*/true, /*second_boot=*/2);
  EXPECT_EQ(o.second.accepted, 2u);
  EXPECT_EQ(o.second.gaps, 4u);
}

TEST_F(TrajectorySenderTest, TakingARestartedLearnerForTheSameLosesTheRest) {
  // The control for the boot id: a restarted learner that answered the old
  // one's boot id would not get 6..9 back.
  const Outcome o = SecondLearner(/*max_retained_bytes=*/1 << 20, 6,
                                  /*checkpointed=*/true, /*second_boot=*/1);
  EXPECT_EQ(o.second.gaps, 4u);
  EXPECT_EQ(o.sender.retained_resent, 0u);
}

// A stream that breaks while its learner lives on (the same boot id behind
// it) costs no resend of what that learner acknowledged.
TEST_F(TrajectorySenderTest, ABrokenStreamToTheSameLearnerResendsOnlyUnacked) {
  const Outcome o = SecondLearner(/*max_retained_bytes=*/1 << 20, 10,
                                  /*checkpointed=*/false, /*second_boot=*/1);
  EXPECT_EQ(o.second.accepted, 2u);
  EXPECT_EQ(o.second.duplicates, 0u);
  EXPECT_EQ(o.sender.retained_resent, 0u);
  EXPECT_EQ(o.sender.retained, 12u);  // all still await a checkpoint
  EXPECT_EQ(o.sender.sent, 12u);
}

TEST_F(TrajectorySenderTest, RetentionIsBoundedInBytes) {
  FrontEnd learner;
  // Seqs 1..7 have the same size (seq 0 is not on the wire at all).
  const size_t one = MakeTrajectory(TestSpec(), kIncarnation, 1).ByteSizeLong();
  TrajectorySender sender(learner.Channel(), 16, 3 * one + one / 2,
                          [] { return std::optional<uint64_t>(1); });
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
