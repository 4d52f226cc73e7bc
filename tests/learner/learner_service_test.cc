#include "learner/learner_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/grpc_util.h"
#include "common/version_publisher.h"
#include "learner/ingest.h"
#include "tests/learner/test_trajectories.h"

namespace lantern::learner {
namespace {

using std::chrono::milliseconds;
using test::MakeTrajectory;
using test::TestSpec;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using Stream = grpc::ClientReaderWriter<v1::Trajectory, v1::TrajectoryAck>;

constexpr size_t kChunkBytes = 256;

// A learner front end on 127.0.0.1:<picked port>: Ingest,
// common::VersionPublisher and LearnerService behind a real gRPC server, and a
// sync stub to it.
class LearnerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(/*capacity=*/16); }

  void Start(size_t capacity) {
    ingest_ = std::make_unique<Ingest>(TestSpec(), capacity);
    publisher_ = std::make_unique<common::VersionPublisher>(kChunkBytes);
    service_ = std::make_unique<LearnerService>(
        ingest_.get(), publisher_.get(), [this] {
          v1::LearnerStatus s;
          s.set_policy_version(publisher_->version());
          s.set_updates(17);
          s.set_mean_episode_return(2.5);
          (*s.mutable_rejected_by_reason())["dones"] = 3;
          return s;
        });
    absl::StatusOr<common::StartedServer> started =
        common::StartServer("127.0.0.1:0", {service_.get()}, 64 << 20);
    ASSERT_TRUE(started.ok()) << started.status();
    ASSERT_GT(started->port, 0);
    server_ = std::move(started->server);
    stub_ = v1::Learner::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(started->port),
                            grpc::InsecureChannelCredentials()));
  }

  void TearDown() override { Stop(); }

  void Stop() {
    if (server_ == nullptr) return;
    // Cancels calls still open (a parked stream, a watch) and waits for them.
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
    ingest_->Close();
  }

  // Re-creates everything with another queue capacity.
  void Restart(size_t capacity) {
    Stop();
    Start(capacity);
  }

  // Sends one trajectory and reads its ack.
  static v1::TrajectoryAck Send(Stream& stream, const v1::Trajectory& t) {
    EXPECT_TRUE(stream.Write(t));
    v1::TrajectoryAck ack;
    EXPECT_TRUE(stream.Read(&ack));
    return ack;
  }

  static void ExpectAck(const v1::TrajectoryAck& ack, uint64_t inc,
                        uint64_t seq, v1::TrajectoryAck::Status status) {
    EXPECT_EQ(ack.incarnation(), inc);
    EXPECT_EQ(ack.seq(), seq);
    EXPECT_EQ(ack.status(), status)
        << v1::TrajectoryAck::Status_Name(ack.status()) << ": " << ack.reason();
  }

  static void CloseStream(Stream& stream) {
    EXPECT_TRUE(stream.WritesDone());
    v1::TrajectoryAck extra;
    EXPECT_FALSE(stream.Read(&extra));
    const grpc::Status st = stream.Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
  }

  // Weights big enough to need several chunks of kChunkBytes.
  static v1::PolicyWeights Weights(int64_t version) {
    v1::PolicyWeights w;
    w.set_version(version);
    v1::NamedTensor* t = w.add_tensors();
    t->set_name("layer.weight");
    std::vector<float> values(300);
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = float(version) + float(i) * 0.001f;
    }
    *t->mutable_tensor() = test::Encode<float>({300}, values);
    return w;
  }

  // Reads the chunks of one version and reassembles the weights.
  static v1::PolicyWeights ReadVersion(
      grpc::ClientReader<v1::VersionChunk>& reader, int* num_chunks) {
    std::string bytes;
    v1::VersionChunk chunk;
    int index = 0;
    do {
      EXPECT_TRUE(reader.Read(&chunk));
      EXPECT_EQ(chunk.index(), index++);
      bytes += chunk.data();
    } while (chunk.index() + 1 < chunk.num_chunks());
    *num_chunks = chunk.num_chunks();
    v1::PolicyWeights w;
    EXPECT_TRUE(w.ParseFromString(bytes));
    EXPECT_EQ(w.version(), chunk.version());
    return w;
  }

  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<common::VersionPublisher> publisher_;
  std::unique_ptr<LearnerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Learner::Stub> stub_;
};

TEST_F(LearnerServiceTest, RegisterActorAcceptsMatchingSpec) {
  publisher_->Publish(3, Weights(3));
  grpc::ClientContext ctx1, ctx2, ctx3;
  v1::RegisterActorResponse first, second, again;
  ASSERT_TRUE(
      stub_->RegisterActor(&ctx1, test::TestRegistration(), &first).ok());
  ASSERT_TRUE(
      stub_->RegisterActor(&ctx2, test::TestRegistration(), &second).ok());
  EXPECT_NE(first.actor_id(), 0u);
  EXPECT_NE(second.actor_id(), first.actor_id());
  EXPECT_EQ(first.policy_version(), 3);
  // A restarted actor keeps its id.
  v1::RegisterActorRequest re = test::TestRegistration();
  re.set_previous_actor_id(first.actor_id());
  ASSERT_TRUE(stub_->RegisterActor(&ctx3, re, &again).ok());
  EXPECT_EQ(again.actor_id(), first.actor_id());
  EXPECT_EQ(service_->registrations(), 3u);
}

TEST_F(LearnerServiceTest, RegisterActorRefusesMismatchingSpec) {
  struct Case {
    std::function<void(v1::RegisterActorRequest&)> change;
    std::string what;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.set_crop(7); }, "env crop is 7 but the learner's is 5"},
      {[](auto& r) { r.set_num_stats(6); }, "stats size"},
      {[](auto& r) { r.set_message_len(8); }, "message length"},
      {[](auto& r) { r.set_num_actions(4); }, "action count"},
      {[](auto& r) { r.set_state_size(8); }, "recurrent state size"},
      {[](auto& r) { r.set_num_envs(0); }, "env count"},
      {[](auto& r) { r.set_num_envs(5000); }, "env count"},
  };
  for (const Case& c : cases) {
    v1::RegisterActorRequest r = test::TestRegistration();
    c.change(r);
    grpc::ClientContext ctx;
    v1::RegisterActorResponse response;
    const grpc::Status st = stub_->RegisterActor(&ctx, r, &response);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(st.error_message(), HasSubstr(c.what));
    EXPECT_THAT(st.error_message(), HasSubstr("same config"));
  }
  EXPECT_EQ(service_->registrations(), 0u);
}

TEST_F(LearnerServiceTest, StreamAcksValidTrajectoriesInOrder) {
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream = stub_->StreamTrajectories(&ctx);
  for (uint64_t seq = 0; seq < 3; ++seq) {
    ASSERT_TRUE(stream->Write(MakeTrajectory(TestSpec(), 5, seq)));
  }
  for (uint64_t seq = 0; seq < 3; ++seq) {
    v1::TrajectoryAck ack;
    ASSERT_TRUE(stream->Read(&ack));
    ExpectAck(ack, 5, seq, v1::TrajectoryAck::ACCEPTED);
    EXPECT_EQ(ack.code(), 0);
    EXPECT_TRUE(ack.reason().empty());
  }
  CloseStream(*stream);
  const std::vector<Ingest::Item> items = ingest_->PopBatch(3, milliseconds(0));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2]->seq(), 2u);
  EXPECT_EQ(CaptionAt(*items[2], 0), "caption 0");  // the body arrived whole
}

TEST_F(LearnerServiceTest, ResentTrajectoryIsDuplicate) {
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream = stub_->StreamTrajectories(&ctx);
  const v1::Trajectory t = MakeTrajectory(TestSpec(), 5, 0);
  ExpectAck(Send(*stream, t), 5, 0, v1::TrajectoryAck::ACCEPTED);
  ExpectAck(Send(*stream, t), 5, 0, v1::TrajectoryAck::DUPLICATE);
  CloseStream(*stream);

  // Also on a new stream (the actor reconnected), after consumption.
  ASSERT_EQ(ingest_->PopBatch(1, milliseconds(0)).size(), 1u);
  grpc::ClientContext ctx2;
  std::unique_ptr<Stream> stream2 = stub_->StreamTrajectories(&ctx2);
  ExpectAck(Send(*stream2, t), 5, 0, v1::TrajectoryAck::DUPLICATE);
  CloseStream(*stream2);
  EXPECT_EQ(ingest_->Counters().duplicates, 2u);
}

TEST_F(LearnerServiceTest, MalformedTrajectoryIsRejectedAndStreamGoesOn) {
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream = stub_->StreamTrajectories(&ctx);
  v1::Trajectory bad = MakeTrajectory(TestSpec(), 5, 0);
  test::SetElement<int32_t>(bad.mutable_actions(), 1, 77);
  const v1::TrajectoryAck ack = Send(*stream, bad);
  ExpectAck(ack, 5, 0, v1::TrajectoryAck::REJECTED);
  EXPECT_EQ(ack.code(), 3);  // INVALID_ARGUMENT
  EXPECT_THAT(ack.reason(), HasSubstr("actions: value 77"));

  ExpectAck(Send(*stream, MakeTrajectory(TestSpec(), 5, 1)), 5, 1,
            v1::TrajectoryAck::ACCEPTED);
  CloseStream(*stream);
  EXPECT_EQ(ingest_->Counters().rejected_by_reason.at("actions"), 1u);
}

TEST_F(LearnerServiceTest, FullQueueHoldsTheAckUntilThereIsRoom) {
  Restart(/*capacity=*/2);
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream = stub_->StreamTrajectories(&ctx);
  ExpectAck(Send(*stream, MakeTrajectory(TestSpec(), 5, 0)), 5, 0,
            v1::TrajectoryAck::ACCEPTED);
  ExpectAck(Send(*stream, MakeTrajectory(TestSpec(), 5, 1)), 5, 1,
            v1::TrajectoryAck::ACCEPTED);
  ASSERT_TRUE(stream->Write(MakeTrajectory(TestSpec(), 5, 2)));
  std::future<v1::TrajectoryAck> third = std::async(std::launch::async, [&] {
    v1::TrajectoryAck ack;
    EXPECT_TRUE(stream->Read(&ack));
    return ack;
  });
  // Nothing consumes, so no ack may come. (A bounded look for a wrong early
  // ack; the ordering check below does not depend on it.)
  EXPECT_EQ(third.wait_for(milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(ingest_->Counters().accepted, 2u);
  EXPECT_EQ(ingest_->Counters().queue_depth, 2u);

  std::vector<Ingest::Item> popped = ingest_->PopBatch(1, milliseconds(0));
  EXPECT_EQ(popped.size(), 1u);  // no ASSERT: `third` must be joined
  const v1::TrajectoryAck ack = third.get();
  ExpectAck(ack, 5, 2, v1::TrajectoryAck::ACCEPTED);
  EXPECT_EQ(ingest_->Counters().accepted, 3u);
  ingest_->MarkConsumed(popped);
  EXPECT_EQ(ingest_->Counters().consumed, 1u);
  CloseStream(*stream);
}

TEST_F(LearnerServiceTest, WatchPolicyStreamsPublishedVersionsInChunks) {
  const v1::PolicyWeights v1_weights = Weights(1);
  publisher_->Publish(v1_weights.version(), v1_weights);
  grpc::ClientContext ctx;
  v1::WatchRequest request;
  request.set_known_version(-1);
  std::unique_ptr<grpc::ClientReader<v1::VersionChunk>> reader =
      stub_->WatchPolicy(&ctx, request);

  int num_chunks = 0;
  v1::PolicyWeights got = ReadVersion(*reader, &num_chunks);
  EXPECT_GT(num_chunks, 2);
  EXPECT_EQ(got.SerializeAsString(), v1_weights.SerializeAsString());

  const v1::PolicyWeights v2_weights = Weights(2);
  publisher_->Publish(v2_weights.version(), v2_weights);
  got = ReadVersion(*reader, &num_chunks);
  EXPECT_EQ(got.version(), 2);
  EXPECT_EQ(got.SerializeAsString(), v2_weights.SerializeAsString());

  ctx.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(LearnerServiceTest, WatchPolicySkipsTheKnownVersion) {
  publisher_->Publish(1, Weights(1));
  grpc::ClientContext ctx;
  v1::WatchRequest request;
  request.set_known_version(1);
  std::unique_ptr<grpc::ClientReader<v1::VersionChunk>> reader =
      stub_->WatchPolicy(&ctx, request);
  publisher_->Publish(2, Weights(2));
  int num_chunks = 0;
  EXPECT_EQ(ReadVersion(*reader, &num_chunks).version(), 2);
  ctx.TryCancel();
  reader->Finish();
}

TEST_F(LearnerServiceTest, WatcherFromAnEarlierLearnerGetsTheOlderVersion) {
  // The watcher knew version 9 from a learner that died; this one resumed
  // from a checkpoint at version 5.
  publisher_->Publish(5, Weights(5));
  grpc::ClientContext ctx;
  v1::WatchRequest request;
  request.set_known_version(9);
  std::unique_ptr<grpc::ClientReader<v1::VersionChunk>> reader =
      stub_->WatchPolicy(&ctx, request);
  int num_chunks = 0;
  EXPECT_EQ(ReadVersion(*reader, &num_chunks).version(), 5);
  publisher_->Publish(6, Weights(6));
  EXPECT_EQ(ReadVersion(*reader, &num_chunks).version(), 6);
  ctx.TryCancel();
  reader->Finish();
}

TEST_F(LearnerServiceTest, ClosingEndsStreamsWithUnavailableAndNoAck) {
  publisher_->Publish(1, Weights(1));
  grpc::ClientContext watch_ctx;
  std::unique_ptr<grpc::ClientReader<v1::VersionChunk>> reader =
      stub_->WatchPolicy(&watch_ctx, v1::WatchRequest());
  int num_chunks = 0;
  EXPECT_EQ(ReadVersion(*reader, &num_chunks).version(), 1);

  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream = stub_->StreamTrajectories(&ctx);
  ExpectAck(Send(*stream, MakeTrajectory(TestSpec(), 5, 0)), 5, 0,
            v1::TrajectoryAck::ACCEPTED);
  ingest_->Close();
  publisher_->Close();
  // The next trajectory is neither acked nor rejected: the stream ends
  // UNAVAILABLE, so the actor keeps it for the next learner.
  ASSERT_TRUE(stream->Write(MakeTrajectory(TestSpec(), 5, 1)));
  v1::TrajectoryAck ack;
  EXPECT_FALSE(stream->Read(&ack));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  v1::VersionChunk chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ingest_->Counters().rejected, 0u);
}

TEST_F(LearnerServiceTest, GetStatusReturnsWhatTheCallbackGives) {
  publisher_->Publish(4, Weights(4));
  grpc::ClientContext ctx;
  v1::LearnerStatus status;
  ASSERT_TRUE(stub_->GetStatus(&ctx, v1::StatusRequest(), &status).ok());
  EXPECT_EQ(status.policy_version(), 4);
  EXPECT_EQ(status.updates(), 17);
  EXPECT_DOUBLE_EQ(status.mean_episode_return(), 2.5);
  EXPECT_THAT(status.rejected_by_reason(),
              UnorderedElementsAre(Pair("dones", 3u)));
}

TEST_F(LearnerServiceTest, ActorsCountFromRegistrationUntilTheyLeave) {
  EXPECT_EQ(service_->connected_actors(), 0);
  grpc::ClientContext reg_ctx;
  v1::RegisterActorResponse registered;
  ASSERT_TRUE(
      stub_->RegisterActor(&reg_ctx, test::TestRegistration(), &registered)
          .ok());
  EXPECT_EQ(service_->connected_actors(), 1);
  // Its accepted trajectories are counted against it.
  grpc::ClientContext ctx;
  std::unique_ptr<Stream> stream = stub_->StreamTrajectories(&ctx);
  v1::Trajectory t = MakeTrajectory(TestSpec(), 99, 0);
  t.set_actor_id(registered.actor_id());
  ExpectAck(Send(*stream, t), 99, 0, v1::TrajectoryAck::ACCEPTED);
  CloseStream(*stream);
  auto status = [&] {
    grpc::ClientContext c;
    v1::LearnerStatus s;
    EXPECT_TRUE(stub_->GetStatus(&c, v1::StatusRequest(), &s).ok());
    return s;
  };
  v1::LearnerStatus s = status();
  EXPECT_EQ(s.connected_actors(), 1);
  ASSERT_EQ(s.actors_size(), 1);
  EXPECT_EQ(s.actors(0).actor_id(), registered.actor_id());
  EXPECT_EQ(s.actors(0).host(), "test");
  EXPECT_EQ(s.actors(0).trajectories_accepted(), 1u);
  EXPECT_EQ(s.actors(0).env_steps(), TestSpec().unroll * test::kNumEnvs);
  // Heartbeats: fine while registered; leaving ends its count at once; a
  // heartbeat after that (or from a stranger) says to register again.
  auto beat = [&](uint64_t id, bool leaving) {
    grpc::ClientContext c;
    v1::HeartbeatRequest b;
    b.set_actor_id(id);
    b.set_incarnation(99);
    b.set_leaving(leaving);
    v1::HeartbeatResponse r;
    return stub_->Heartbeat(&c, b, &r);
  };
  EXPECT_TRUE(beat(registered.actor_id(), false).ok());
  EXPECT_TRUE(beat(registered.actor_id(), true).ok());
  EXPECT_EQ(service_->connected_actors(), 0);
  s = status();
  EXPECT_EQ(s.actors_left(), 1u);
  EXPECT_EQ(s.actors(0).state(), "left");
  EXPECT_EQ(beat(registered.actor_id(), false).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(beat(12345, false).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace lantern::learner
