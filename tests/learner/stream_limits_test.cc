// The learner service's limits against a hostile or over-eager sender: the
// cap on open trajectory streams, the per-stream read rate, and the
// committed prefix a heartbeat answers with.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "tests/learner/test_front_end.h"

namespace lantern::learner {
namespace {

using Stream = grpc::ClientReaderWriter<v1::Trajectory, v1::TrajectoryAck>;
using test::FrontEnd;
using test::MakeTrajectory;
using test::TestSpec;

struct OpenStream {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream;
};

std::unique_ptr<OpenStream> Open(v1::Learner::Stub& stub) {
  auto s = std::make_unique<OpenStream>();
  s->stream = stub.StreamTrajectories(&s->context);
  return s;
}

TEST(StreamLimitsTest, StreamsOverTheCapAreRefusedBeforeAnyRead) {
  FrontEnd learner(0, {.max_streams = 2});
  ASSERT_TRUE(learner.serving());
  auto stub = v1::Learner::NewStub(learner.Channel());
  std::vector<std::unique_ptr<OpenStream>> open;
  for (uint64_t i = 0; i < 2; ++i) {
    open.push_back(Open(*stub));
    ASSERT_TRUE(open.back()->stream->Write(MakeTrajectory(TestSpec(), 1, i)));
    v1::TrajectoryAck ack;
    ASSERT_TRUE(open.back()->stream->Read(&ack));
    EXPECT_EQ(ack.status(), v1::TrajectoryAck::ACCEPTED);
  }
  // The third is answered at once; what it writes is never read.
  std::unique_ptr<OpenStream> third = Open(*stub);
  third->stream->Write(MakeTrajectory(TestSpec(), 1, 2));
  v1::TrajectoryAck ack;
  EXPECT_FALSE(third->stream->Read(&ack));
  const grpc::Status refused = third->stream->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("learner.max_streams"),
            std::string::npos)
      << refused.error_message();
  EXPECT_EQ(learner.service().Status().streams_refused(), 1u);
  EXPECT_EQ(learner.ingest().Counters().accepted, 2u);

  open.front()->stream->WritesDone();
  EXPECT_TRUE(open.front()->stream->Finish().ok());
  // A stream that ends makes room for the next, once the learner has seen
  // it end: try until one is accepted.
  bool accepted = false;
  for (uint64_t seq = 3; !accepted && seq < 1000; ++seq) {
    std::unique_ptr<OpenStream> next = Open(*stub);
    v1::TrajectoryAck a;
    accepted = next->stream->Write(MakeTrajectory(TestSpec(), 1, seq)) &&
               next->stream->Read(&a) &&
               a.status() == v1::TrajectoryAck::ACCEPTED;
    next->stream->WritesDone();
    next->stream->Finish();
  }
  EXPECT_TRUE(accepted);
}

TEST(StreamLimitsTest, AFastStreamIsReadNoFasterThanItsRate) {
  constexpr double kRate = 20;  // per second, with a burst of 20
  constexpr int kSent = 40;
  FrontEnd learner(0, {.max_trajectories_per_s = kRate}, nullptr, kSent);
  ASSERT_TRUE(learner.serving());
  auto stub = v1::Learner::NewStub(learner.Channel());
  // Before Open: the stream's bucket fills when the learner creates it.
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<OpenStream> s = Open(*stub);
  for (int i = 0; i < kSent; ++i) {
    ASSERT_TRUE(s->stream->Write(MakeTrajectory(TestSpec(), 1, uint64_t(i))));
  }
  for (int i = 0; i < kSent; ++i) {
    v1::TrajectoryAck ack;
    ASSERT_TRUE(s->stream->Read(&ack));
    EXPECT_EQ(ack.status(), v1::TrajectoryAck::ACCEPTED);
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  // The burst goes through at once, the other 20 at 20/s: at least 1 s
  // whatever the machine (a lower bound, so noise cannot break it).
  EXPECT_GE(took, (kSent - kRate) / kRate * 0.95);
  EXPECT_GT(learner.service().Status().reads_throttled(), 0u);
  EXPECT_EQ(learner.ingest().Counters().accepted, uint64_t(kSent));
  s->stream->WritesDone();
  EXPECT_TRUE(s->stream->Finish().ok());
}

TEST(StreamLimitsTest, HeartbeatAnswersWhatTheLastCheckpointHolds) {
  FrontEnd learner;
  ASSERT_TRUE(learner.serving());
  auto stub = v1::Learner::NewStub(learner.Channel());
  v1::RegisterActorRequest reg;
  reg.set_incarnation(7);
  reg.set_num_envs(test::kNumEnvs);
  const TrajectorySpec spec = TestSpec();
  reg.set_crop(spec.crop);
  reg.set_num_stats(spec.num_stats);
  reg.set_message_len(spec.message_len);
  reg.set_num_actions(spec.num_actions);
  grpc::ClientContext register_context;
  v1::RegisterActorResponse registered;
  ASSERT_TRUE(stub->RegisterActor(&register_context, reg, &registered).ok());
  auto beat = [&] {
    v1::HeartbeatRequest request;
    request.set_actor_id(registered.actor_id());
    request.set_incarnation(7);
    grpc::ClientContext context;
    v1::HeartbeatResponse response;
    EXPECT_TRUE(stub->Heartbeat(&context, request, &response).ok());
    return response.committed_seq();
  };
  for (uint64_t seq = 0; seq < 5; ++seq) {
    Ingest::Item t =
        std::make_unique<v1::Trajectory>(MakeTrajectory(spec, 7, seq));
    absl::Status reason;
    ASSERT_EQ(learner.ingest().Offer(t, &reason, [] {}),
              Ingest::Outcome::kAccepted);
  }
  learner.ingest().MarkConsumed(
      learner.ingest().PopBatch(3, std::chrono::milliseconds(0)));
  EXPECT_EQ(beat(), 0u) << "consumed is not yet checkpointed";
  learner.ingest().Committed(learner.ingest().ConsumedLedger());
  EXPECT_EQ(beat(), 3u);

  // Seq 5 from this actor is malformed: rejected, and settled for good so
  // that the prefix can pass it once 3 and 4 are consumed.
  v1::Trajectory bad = MakeTrajectory(spec, 7, 5);
  bad.set_actor_id(registered.actor_id());
  bad.mutable_actions()->mutable_data()->clear();
  std::unique_ptr<OpenStream> s = Open(*stub);
  ASSERT_TRUE(s->stream->Write(bad));
  v1::TrajectoryAck ack;
  ASSERT_TRUE(s->stream->Read(&ack));
  EXPECT_EQ(ack.status(), v1::TrajectoryAck::REJECTED);
  s->stream->WritesDone();
  EXPECT_TRUE(s->stream->Finish().ok());
  learner.ingest().MarkConsumed(
      learner.ingest().PopBatch(2, std::chrono::milliseconds(0)));
  learner.ingest().Committed(learner.ingest().ConsumedLedger());
  EXPECT_EQ(beat(), 6u);
}

}  // namespace
}  // namespace lantern::learner
