#include "learner/ingest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "tests/learner/test_trajectories.h"

namespace lantern::learner {
namespace {

using std::chrono::milliseconds;
using test::MakeTrajectory;
using test::TestSpec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using Outcome = Ingest::Outcome;

constexpr milliseconds kNoWait{0};

Ingest::Item Make(uint64_t incarnation, uint64_t seq) {
  return std::make_unique<v1::Trajectory>(
      MakeTrajectory(TestSpec(), incarnation, seq));
}

// Offers a fresh trajectory; fails the test if the queue asks to call back.
Outcome Offer(Ingest& ingest, uint64_t incarnation, uint64_t seq,
              absl::Status* reason = nullptr) {
  Ingest::Item item = Make(incarnation, seq);
  absl::Status ignored;
  return ingest.Offer(item, reason != nullptr ? reason : &ignored,
                      [] { ADD_FAILURE() << "unexpected on_room call"; });
}

std::vector<std::pair<uint64_t, uint64_t>> Ids(
    const std::vector<Ingest::Item>& items) {
  std::vector<std::pair<uint64_t, uint64_t>> ids;
  for (const Ingest::Item& t : items)
    ids.emplace_back(t->incarnation(), t->seq());
  return ids;
}

TEST(IngestTest, AcceptsValidTrajectoryAndTakesIt) {
  Ingest ingest(TestSpec(), 4);
  Ingest::Item item = Make(7, 0);
  absl::Status reason;
  EXPECT_EQ(ingest.Offer(item, &reason, [] {}), Outcome::kAccepted);
  EXPECT_EQ(item.get(), nullptr);  // moved into the queue
  EXPECT_TRUE(reason.ok());
  const IngestCounters c = ingest.Counters();
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.queue_depth, 1u);
  EXPECT_EQ(c.duplicates, 0u);
  EXPECT_EQ(c.rejected, 0u);
}

TEST(IngestTest, DropsDuplicateOfQueuedTrajectory) {
  Ingest ingest(TestSpec(), 4);
  EXPECT_EQ(Offer(ingest, 7, 0), Outcome::kAccepted);
  EXPECT_EQ(Offer(ingest, 7, 0), Outcome::kDuplicate);
  EXPECT_EQ(Offer(ingest, 8, 0), Outcome::kAccepted);  // other incarnation
  const IngestCounters c = ingest.Counters();
  EXPECT_EQ(c.accepted, 2u);
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.queue_depth, 2u);
}

TEST(IngestTest, DropsDuplicateOfConsumedTrajectory) {
  Ingest ingest(TestSpec(), 4);
  EXPECT_EQ(Offer(ingest, 7, 0), Outcome::kAccepted);
  ASSERT_EQ(ingest.PopBatch(1, kNoWait).size(), 1u);
  EXPECT_EQ(Offer(ingest, 7, 0), Outcome::kDuplicate);
}

TEST(IngestTest, RejectsInvalidTrajectoryAndCountsByReason) {
  Ingest ingest(TestSpec(), 4);
  Ingest::Item item = Make(7, 0);
  test::SetElement<uint8_t>(item->mutable_dones(), 0, 9);
  absl::Status reason;
  EXPECT_EQ(ingest.Offer(item, &reason, [] {}), Outcome::kRejected);
  EXPECT_EQ(reason.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reason.message()), HasSubstr("dones"));

  item = Make(7, 1);
  item->set_policy_version(-3);
  EXPECT_EQ(ingest.Offer(item, &reason, [] {}), Outcome::kRejected);
  item = Make(7, 2);
  item->set_policy_version(-4);
  EXPECT_EQ(ingest.Offer(item, &reason, [] {}), Outcome::kRejected);

  const IngestCounters c = ingest.Counters();
  EXPECT_EQ(c.rejected, 3u);
  EXPECT_EQ(c.accepted, 0u);
  EXPECT_EQ(c.queue_depth, 0u);
  EXPECT_THAT(c.rejected_by_reason,
              ElementsAre(Pair("dones", 1u), Pair("policy_version", 2u)));
}

TEST(IngestTest, RejectedTrajectoryIsNotRememberedAsDelivered) {
  Ingest ingest(TestSpec(), 4);
  Ingest::Item bad = Make(7, 0);
  bad->clear_caption_offsets();
  absl::Status reason;
  ASSERT_EQ(ingest.Offer(bad, &reason, [] {}), Outcome::kRejected);
  // A corrected resend with the same ids is not a duplicate.
  EXPECT_EQ(Offer(ingest, 7, 0), Outcome::kAccepted);
}

TEST(IngestTest, FullQueueParksOffererAndCallsBackOnceAfterRoom) {
  Ingest ingest(TestSpec(), 2);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  ASSERT_EQ(Offer(ingest, 1, 1), Outcome::kAccepted);

  Ingest::Item third = Make(1, 2);
  int calls = 0;
  Outcome retried = Outcome::kFull;
  std::function<void()> on_room = [&] {
    ++calls;
    absl::Status reason;
    retried = ingest.Offer(third, &reason, [] {});
  };
  absl::Status reason;
  ASSERT_EQ(ingest.Offer(third, &reason, on_room), Outcome::kFull);
  EXPECT_NE(third.get(), nullptr);  // still the caller's
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(ingest.Counters().accepted, 2u);

  // Making room calls the parked offerer back from the consumer's thread,
  // before PopBatch returns; its re-offer is accepted.
  std::vector<Ingest::Item> batch = ingest.PopBatch(1, kNoWait);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(retried, Outcome::kAccepted);
  EXPECT_EQ(third.get(), nullptr);

  // Exactly once: later room does not call it again.
  std::vector<Ingest::Item> rest = ingest.PopBatch(2, kNoWait);
  EXPECT_EQ(rest.size(), 2u);
  EXPECT_EQ(calls, 1);
  ingest.MarkConsumed(batch);
  ingest.MarkConsumed(rest);
  const IngestCounters c = ingest.Counters();
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.consumed, 3u);
  EXPECT_EQ(c.queue_depth, 0u);
}

TEST(IngestTest, FullQueueRefusesDuplicateWithoutParking) {
  Ingest ingest(TestSpec(), 1);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  // The queue is full, but a duplicate is answered at once.
  EXPECT_EQ(Offer(ingest, 1, 0), Outcome::kDuplicate);
  EXPECT_EQ(ingest.PopBatch(1, kNoWait).size(), 1u);
}

TEST(IngestTest, PopBatchReturnsInOfferOrderAndMarkConsumedRecords) {
  Ingest ingest(TestSpec(), 8);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  ASSERT_EQ(Offer(ingest, 1, 1), Outcome::kAccepted);
  ASSERT_EQ(Offer(ingest, 2, 5), Outcome::kAccepted);

  const std::vector<Ingest::Item> batch = ingest.PopBatch(2, kNoWait);
  EXPECT_THAT(Ids(batch), ElementsAre(Pair(1u, 0u), Pair(1u, 1u)));
  // Popped is not yet consumed: a learner that dies now has not used them.
  EXPECT_EQ(ingest.ConsumedLedger().Size(), 0u);
  EXPECT_EQ(ingest.Counters().consumed, 0u);
  ingest.MarkConsumed(batch);

  const DeliveryLedger consumed = ingest.ConsumedLedger();
  EXPECT_TRUE(consumed.Contains(1, 0));
  EXPECT_TRUE(consumed.Contains(1, 1));
  EXPECT_FALSE(consumed.Contains(2, 5));  // accepted, still queued
  EXPECT_EQ(consumed.Size(), 2u);
  EXPECT_EQ(ingest.Counters().consumed, 2u);
}

TEST(IngestTest, PopBatchTimesOutWithWhatIsThere) {
  Ingest ingest(TestSpec(), 8);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  EXPECT_EQ(ingest.PopBatch(4, milliseconds(1)).size(), 1u);
  EXPECT_TRUE(ingest.PopBatch(4, milliseconds(1)).empty());
}

TEST(IngestTest, CountsGapsInAcceptedSequences) {
  Ingest ingest(TestSpec(), 8);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  ASSERT_EQ(Offer(ingest, 1, 3), Outcome::kAccepted);
  EXPECT_EQ(ingest.Counters().gaps, 2u);  // 1 and 2 missing
  ASSERT_EQ(Offer(ingest, 1, 1), Outcome::kAccepted);
  EXPECT_EQ(ingest.Counters().gaps, 1u);
}

TEST(IngestTest, RestoredLedgerMakesResentTrajectoriesDuplicates) {
  DeliveryLedger ledger;
  for (uint64_t s = 0; s < 3; ++s) ledger.Add(7, s);
  ledger.Add(7, 5);

  Ingest ingest(TestSpec(), 8);
  ingest.Restore(ledger);
  EXPECT_EQ(Offer(ingest, 7, 0), Outcome::kDuplicate);
  EXPECT_EQ(Offer(ingest, 7, 2), Outcome::kDuplicate);
  EXPECT_EQ(Offer(ingest, 7, 5), Outcome::kDuplicate);
  EXPECT_EQ(Offer(ingest, 7, 3), Outcome::kAccepted);
  EXPECT_EQ(Offer(ingest, 8, 0), Outcome::kAccepted);
  EXPECT_EQ(ingest.Counters().duplicates, 3u);

  // The restored ledger is the consumed one: it survives into the next
  // checkpoint together with what is consumed after the restart.
  const std::vector<Ingest::Item> batch = ingest.PopBatch(2, kNoWait);
  ASSERT_EQ(batch.size(), 2u);
  ingest.MarkConsumed(batch);
  const DeliveryLedger consumed = ingest.ConsumedLedger();
  for (uint64_t s : {0, 1, 2, 3, 5}) EXPECT_TRUE(consumed.Contains(7, s)) << s;
  EXPECT_FALSE(consumed.Contains(7, 4));
  EXPECT_TRUE(consumed.Contains(8, 0));
  // What the restored checkpoint held stays committed until the next one.
  EXPECT_EQ(ingest.CommittedPrefix(7), 3u);
  EXPECT_EQ(ingest.CommittedPrefix(8), 0u);
}

TEST(IngestTest, CommittedPrefixFollowsTheSavedLedgerNotTheConsumedOne) {
  Ingest ingest(TestSpec(), 8);
  for (uint64_t s = 0; s < 4; ++s)
    ASSERT_EQ(Offer(ingest, 1, s), Outcome::kAccepted);
  ingest.MarkConsumed(ingest.PopBatch(3, kNoWait));
  // Consumed but not yet in a checkpoint: the actor must keep them.
  EXPECT_EQ(ingest.CommittedPrefix(1), 0u);
  ingest.Committed(ingest.ConsumedLedger());
  EXPECT_EQ(ingest.CommittedPrefix(1), 3u);
  ingest.MarkConsumed(ingest.PopBatch(1, kNoWait));
  EXPECT_EQ(ingest.CommittedPrefix(1), 3u);
  EXPECT_EQ(ingest.CommittedPrefix(2), 0u);  // an incarnation never seen
}

TEST(IngestTest, ConsumingTwiceIsCounted) {
  Ingest ingest(TestSpec(), 8);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  const std::vector<Ingest::Item> batch = ingest.PopBatch(1, kNoWait);
  ingest.MarkConsumed(batch);
  EXPECT_EQ(ingest.Counters().consumed_twice, 0u);
  ingest.MarkConsumed(batch);
  EXPECT_EQ(ingest.Counters().consumed_twice, 1u);
}

TEST(IngestTest, CloseRefusesOffersAndDrainsQueue) {
  Ingest ingest(TestSpec(), 4);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  ingest.Close();
  absl::Status reason;
  EXPECT_EQ(Offer(ingest, 1, 1, &reason), Outcome::kClosed);
  EXPECT_EQ(ingest.Counters().rejected, 0u);  // not the trajectory's fault
  EXPECT_EQ(ingest.PopBatch(4, milliseconds(10000)).size(), 1u);  // drains
  EXPECT_TRUE(ingest.PopBatch(4, milliseconds(10000)).empty());
}

TEST(IngestTest, CloseCallsParkedOffererBack) {
  Ingest ingest(TestSpec(), 1);
  ASSERT_EQ(Offer(ingest, 1, 0), Outcome::kAccepted);
  Ingest::Item item = Make(1, 1);
  int calls = 0;
  Outcome retried = Outcome::kFull;
  absl::Status retry_reason;
  absl::Status reason;
  ASSERT_EQ(ingest.Offer(item, &reason,
                         [&] {
                           ++calls;
                           retried = ingest.Offer(item, &retry_reason, [] {});
                         }),
            Outcome::kFull);
  ingest.Close();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(retried, Outcome::kClosed);
  EXPECT_NE(item, nullptr);  // still the offerer's, for the next learner
}

}  // namespace
}  // namespace lantern::learner
