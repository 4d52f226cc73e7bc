// The learner's boot id: how an actor tells a restarted learner from a
// broken stream to the same one (docs/protocol.md, "Delivery").
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/grpc_util.h"
#include "tests/learner/test_front_end.h"

namespace lantern::learner {
namespace {

using test::FrontEnd;
using ::testing::HasSubstr;

uint64_t RegisteredBoot(const FrontEnd& learner) {
  grpc::ClientContext ctx;
  v1::RegisterActorResponse response;
  EXPECT_TRUE(v1::Learner::NewStub(learner.Channel())
                  ->RegisterActor(&ctx, test::TestRegistration(), &response)
                  .ok());
  return response.learner_boot();
}

TEST(LearnerBootTest, RegisterActorAnswersTheLearnersBootId) {
  std::optional<FrontEnd> learner(std::in_place);
  const uint64_t first = RegisteredBoot(*learner);
  EXPECT_NE(first, 0u);
  EXPECT_EQ(first, learner->service().boot());
  EXPECT_EQ(RegisteredBoot(*learner), first);
  learner.emplace();  // a new learner process
  EXPECT_NE(RegisteredBoot(*learner), first);
}

// A stream that carries another learner's boot id (its actor registered
// with this learner's predecessor) is refused before anything is read; one
// with this learner's, or none, is served.
TEST(LearnerBootTest, AStreamRegisteredWithAnotherLearnerIsAborted) {
  FrontEnd learner;
  const auto stub = v1::Learner::NewStub(learner.Channel());
  const auto open = [&](const std::string& boot) {
    grpc::ClientContext ctx;
    if (!boot.empty()) ctx.AddMetadata(common::kLearnerBootMetadata, boot);
    auto stream = stub->StreamTrajectories(&ctx);
    v1::TrajectoryAck ack;
    const bool acked =
        stream->Write(test::MakeTrajectory(test::TestSpec(), 42, 0)) &&
        stream->Read(&ack);
    stream->WritesDone();
    while (stream->Read(&ack)) {
    }
    return std::make_pair(acked, stream->Finish());
  };
  const auto [stale_acked, stale] =
      open(std::to_string(learner.service().boot() + 1));
  EXPECT_FALSE(stale_acked);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(stale.error_message(), HasSubstr("register again"));
  EXPECT_EQ(learner.ingest().Counters().accepted, 0u);

  const auto [acked, ok] = open(std::to_string(learner.service().boot()));
  EXPECT_TRUE(acked);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  const auto [unnamed_acked, unnamed] = open("");
  EXPECT_TRUE(unnamed_acked);  // a DUPLICATE: actors without a boot id
  EXPECT_TRUE(unnamed.ok()) << unnamed.error_message();
}

}  // namespace
}  // namespace lantern::learner
