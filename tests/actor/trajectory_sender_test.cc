// The actor's sender against a learner that dies before its checkpoint
// holds everything it acknowledged: a second learner on the same address,
// resumed from that checkpoint, gets back exactly what was lost, even when
// the sender registered with the first one just before it died; and
// against a stream that breaks while its learner lives on, which costs no
// resend of what was acknowledged.
#include "actor/trajectory_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>

#include "testing/throttled_proxy.h"
#include "tests/learner/test_front_end.h"

namespace lantern::actor {
namespace {

using namespace std::chrono_literals;

using learner::DeliveryLedger;
using learner::test::FrontEnd;
using learner::test::MakeTrajectory;
using learner::test::TestSpec;

constexpr uint64_t kIncarnation = 5;

// A real RegisterActor call through `channel`, as the actor's Registration
// makes before each stream: the learner's boot id, or nothing.
TrajectorySender::Reconnect RegisterThrough(
    std::shared_ptr<grpc::Channel> channel) {
  return [stub = std::shared_ptr(
              v1::Learner::NewStub(channel))]() -> std::optional<uint64_t> {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(2));
    v1::RegisterActorResponse response;
    if (!stub->RegisterActor(&context,
                             learner::test::TestRegistration(kIncarnation),
                             &response)
             .ok()) {
      return std::nullopt;
    }
    return response.learner_boot();
  };
}

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

  // The first learner accepts seqs 0..9, trains on 0..5 and checkpoints
  // them, then dies (SIGKILL: 6..9 were acknowledged, never checkpointed);
  // a second one resumes from that checkpoint on the same port. With
  // `stale_registration` the sender's first registration after the death
  // answers the first learner's boot id, as when it registered just before
  // the first died. Returns the counters once the sender has sent 10 and
  // 11 too.
  Outcome LearnerDiesAfterCheckpointingSix(size_t max_retained_bytes,
                                           bool stale_registration = false) {
    std::optional<FrontEnd> first(std::in_place);
    EXPECT_TRUE(first->serving());
    const int port = first->port();
    const uint64_t first_boot = first->service().boot();
    const std::shared_ptr<grpc::Channel> channel = first->Channel();
    std::atomic<int> phase{0};  // 1: first dead, 2: second serving
    std::atomic<bool> stale_used{false};
    const TrajectorySender::Reconnect registered = RegisterThrough(channel);
    TrajectorySender sender(
        channel, 16, max_retained_bytes, [&]() -> std::optional<uint64_t> {
          if (stale_registration && phase == 1) return std::nullopt;
          if (stale_registration && phase == 2 && !stale_used.exchange(true)) {
            return first_boot;
          }
          return registered();
        });
    SendAndWait(sender, 0, 10);
    EXPECT_EQ(first->ingest().Counters().accepted, 10u);
    first->ingest().MarkConsumed(
        first->ingest().PopBatch(6, std::chrono::milliseconds(0)));
    const DeliveryLedger checkpoint = first->ingest().ConsumedLedger();
    first->ingest().Committed(checkpoint);
    sender.Commit(first->ingest().CommittedPrefix(kIncarnation));
    EXPECT_EQ(sender.Counters().retained, max_retained_bytes > 0 ? 4u : 0u);
    phase = 1;
    first.reset();

    FrontEnd second(port, {}, &checkpoint);
    EXPECT_TRUE(second.serving());
    phase = 2;
    SendAndWait(sender, 10, 12);
    EXPECT_EQ(stale_used.load(), stale_registration);
    const SenderCounters counters = sender.Counters();
    sender.Stop();
    return {second.ingest().Counters(), counters};
  }
};

TEST_F(TrajectorySenderTest, ResendsWhatTheDeadLearnerNeverCheckpointed) {
  const Outcome o = LearnerDiesAfterCheckpointingSix(1 << 20);
  EXPECT_EQ(o.second.accepted, 6u);  // 6..9 again, then 10 and 11
  EXPECT_EQ(o.second.gaps, 0u);
  EXPECT_EQ(o.second.duplicates, 0u);  // 0..5 were forgotten at the commit
  EXPECT_EQ(o.sender.retained_resent, 4u);
}

TEST_F(TrajectorySenderTest, WithoutRetentionTheDeadLearnersAcksAreLost) {
  // The control: what the test above would see if the sender forgot
  // trajectories at their ack.
  const Outcome o = LearnerDiesAfterCheckpointingSix(0);
  EXPECT_EQ(o.second.accepted, 2u);
  EXPECT_EQ(o.second.gaps, 4u);
}

// Registered with the first learner, streaming to the second: the second
// refuses the stream, the sender registers again, sees the new boot id and
// resends. (Without the refusal it would take the second learner for the
// first and 6..9 would be gaps.)
TEST_F(TrajectorySenderTest, ARegistrationWithTheDeadLearnerIsNotTrusted) {
  const Outcome o = LearnerDiesAfterCheckpointingSix(1 << 20, true);
  EXPECT_EQ(o.second.accepted, 6u);
  EXPECT_EQ(o.second.gaps, 0u);
  EXPECT_EQ(o.sender.retained_resent, 4u);
}

// A network blip while the learner lives on (same boot id): the new stream
// resends only what was never acknowledged, here nothing.
TEST_F(TrajectorySenderTest, ABrokenStreamToTheSameLearnerResendsOnlyUnacked) {
  FrontEnd learner;
  ASSERT_TRUE(learner.serving());
  testing::ThrottledProxy network(learner.address(), /*bytes_per_s=*/0);
  const auto channel = grpc::CreateChannel(network.address(),
                                           grpc::InsecureChannelCredentials());
  // The sender registers before each stream: its second registration
  // means it is done with the first stream.
  std::promise<void> registered_again;
  int registrations = 0;  // only the sender's thread registers
  const TrajectorySender::Reconnect register_through = RegisterThrough(channel);
  TrajectorySender sender(
      channel, 16, 1 << 20, [&]() -> std::optional<uint64_t> {
        const std::optional<uint64_t> boot = register_through();
        if (boot && ++registrations == 2) registered_again.set_value();
        return boot;
      });
  SendAndWait(sender, 0, 10);
  network.Cut();
  // The stream's pending read sees the cut and the sender registers again;
  // only then 10 and 11, so that none is written into the dead stream.
  ASSERT_EQ(registered_again.get_future().wait_for(10s),
            std::future_status::ready)
      << "the cut went unseen";
  SendAndWait(sender, 10, 12);
  // After Stop: an ack can overtake its write's completion, which `sent`
  // counts; Stop waits for every callback.
  sender.Stop();
  const SenderCounters c = sender.Counters();
  EXPECT_EQ(learner.ingest().Counters().accepted, 12u);
  EXPECT_EQ(learner.ingest().Counters().duplicates, 0u);
  EXPECT_EQ(c.retained_resent, 0u);
  EXPECT_EQ(c.retained, 12u);  // all still await a checkpoint
  EXPECT_GE(c.connects, 2u);
  EXPECT_EQ(c.sent, 12u);
}

TEST_F(TrajectorySenderTest, RetentionIsBoundedInBytes) {
  FrontEnd learner;
  // Seqs 1..7 have the same size (seq 0 is not on the wire at all).
  const size_t one = MakeTrajectory(TestSpec(), kIncarnation, 1).ByteSizeLong();
  TrajectorySender sender(learner.Channel(), 16, 3 * one + one / 2,
                          RegisterThrough(learner.Channel()));
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
