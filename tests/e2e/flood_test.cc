// A flood against a real learner (issue 7, hostile input): many streams at
// once send valid, malformed and oversized trajectories as fast as they
// can. The learner refuses streams over learner.max_streams, reads each
// stream at most at learner.max_trajectories_per_s, counts every rejection
// by reason, keeps training its honest actor, and its memory stays under
// the bound its config implies.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/grpc_util.h"
#include "learner/learner_service.h"
#include "learner/policy_config.h"
#include "tests/e2e/test_run.h"
#include "tests/learner/test_trajectories.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

// A field of /proc/<pid>/status in bytes (VmRSS, VmHWM); -1 if absent.
int64_t ProcBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stoll(line.substr(field.size() + 1)) * 1024;  // kB
    }
  }
  return -1;
}

// Three kinds of message, each close to learner.max_message_mb = 1.
std::vector<v1::Trajectory> FloodMessages(const learner::TrajectorySpec& spec,
                                          uint64_t incarnation) {
  std::vector<v1::Trajectory> out;
  // Valid: the honest shapes (small), from an actor that never registered.
  out.push_back(learner::test::MakeTrajectory(spec, incarnation, 0, 4));
  // Malformed: a stats tensor of 900 KB under a small shape.
  v1::Trajectory bad = out.front();
  learner::test::MutableObservation(bad, "stats")
      ->mutable_data()
      ->append(900 << 10, '\x7f');
  out.push_back(bad);
  // Oversized: 1.5 MB of captions, over learner.max_message_mb but under
  // gRPC's own limit, so it is read and refused by validation.
  v1::Trajectory big = out.front();
  big.mutable_caption_bytes()->append(1536 << 10, 'x');
  out.push_back(big);
  return out;
}

TEST(FloodTest, ManyHostileStreamsAreRefusedOrSlowedAndMemoryStaysBounded) {
  const std::vector<std::string> sets = {"learner.max_streams=8",
                                         "learner.max_message_mb=1",
                                         "learner.max_trajectories_per_s=50"};
  TestRun run("flood", sets);
  absl::StatusOr<common::Config> config =
      common::LoadConfig(run.config_path(), sets);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<learner::TrajectorySpec> spec = learner::SpecFor(*config);
  ASSERT_TRUE(spec.ok()) << spec.status();
  run.StartLearner();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(
      run.WaitFor([](auto& s) { return s.updates() >= 5; }, seconds(60), &s))
      << s.DebugString();
  const pid_t pid = run.LearnerPid();
  // "5" resets the peak (VmHWM) to the current size: only the flood's
  // peak counts.
  std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5";
  const int64_t rss_before = ProcBytes(pid, "VmRSS");
  ASSERT_GT(rss_before, 0);
  const uint64_t honest_before = s.trajectories_accepted();

  // 32 streams, 4x the cap, each on its own connection, for 5 s.
  constexpr int kFlooders = 32;
  std::atomic<uint64_t> writes{0}, refused{0};
  {
    std::vector<std::jthread> flooders;
    for (int f = 0; f < kFlooders; ++f) {
      flooders.emplace_back([&, f] {
        grpc::ChannelArguments args;
        args.SetInt("flood", f);  // a connection per flooder
        args.SetMaxSendMessageSize(8 << 20);
        auto stub = v1::Learner::NewStub(grpc::CreateCustomChannel(
            run.address(), grpc::InsecureChannelCredentials(), args));
        std::vector<v1::Trajectory> messages =
            FloodMessages(*spec, 1000 + uint64_t(f));
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + seconds(5));
        auto stream = stub->StreamTrajectories(&context);
        // Acks are read on the side so that the learner never waits on us.
        std::jthread reader([&] {
          v1::TrajectoryAck ack;
          while (stream->Read(&ack)) {
          }
        });
        for (uint64_t seq = 0;; ++seq) {
          v1::Trajectory& t = messages[seq % messages.size()];
          t.set_seq(seq);
          if (!stream->Write(t)) break;
          writes.fetch_add(1);
        }
        reader.join();
        if (stream->Finish().error_code() ==
            grpc::StatusCode::RESOURCE_EXHAUSTED) {
          refused.fetch_add(1);
        }
      });
    }
  }
  const int64_t peak = ProcBytes(pid, "VmHWM");
  const int64_t bound = learner::IngestMemoryBound(*config);
  // The learner's own working memory (the model, a batch, gRPC's threads)
  // is in rss_before; the flood may add what the config allows it to hold.
  constexpr int64_t kAllowance = 64 << 20;
  EXPECT_LE(peak - rss_before, bound + kAllowance)
      << "before " << (rss_before >> 20) << " MB, peak " << (peak >> 20)
      << " MB, bound " << (bound >> 20) << " MB";
  std::printf(
      "flood: %llu writes, rss before %lld MB, peak %lld MB, "
      "bound %lld MB + %lld MB\n",
      (unsigned long long)writes.load(), (long long)(rss_before >> 20),
      (long long)(peak >> 20), (long long)(bound >> 20),
      (long long)(kAllowance >> 20));

  ASSERT_TRUE(run.Status(&s));
  EXPECT_EQ(run.LearnerPid(), pid);
  // The honest actor may have been refused too, while it reconnected.
  EXPECT_GE(s.streams_refused(), refused.load());
  EXPECT_GE(s.streams_refused(), uint64_t(kFlooders - 8 - 1));
  EXPECT_GT(s.reads_throttled(), 0u);
  EXPECT_GT(s.rejected_by_reason().at("size"), 0u) << s.DebugString();
  EXPECT_GT(s.rejected(), s.rejected_by_reason().at("size"))
      << "malformed ones were counted too";
  // The honest actor kept delivering through the flood and after it.
  ASSERT_TRUE(run.WaitFor(
      [&](auto& s) { return s.trajectories_accepted() > honest_before + 10; },
      seconds(30), &s));
  EXPECT_EQ(s.consumed_twice(), 0u);
}

}  // namespace
}  // namespace lantern::e2e
