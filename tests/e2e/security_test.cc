// End-to-end: a run with TLS and a bearer token on every service (learner,
// reward server, actors, lantern status), and a stranger refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "common/files.h"
#include "common/grpc_util.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

TEST(SecurityE2eTest, ASecureRunTrainsAndRefusesStrangers) {
  const std::string certs =
      ::testing::TempDir() + "lantern_e2e_certs_" + std::to_string(::getpid());
  std::string made;
  ASSERT_EQ(RunCommand(std::string(LANTERN_SOURCE_DIR) +
                           "/scripts/make_certs.sh " + certs,
                       &made),
            0)
      << made;
  TestRun run(
      "secure",
      {"security.tls_cert=" + certs + "/server.pem",
       "security.tls_key=" + certs + "/server.key",
       "security.tls_ca=" + certs + "/ca.pem",
       "security.token_file=" + certs + "/token", "env.task=sparse",
       "reward.model_kind=classification", "reward.publish_interval_s=0.5",
       "annotator.kind=embedding", "annotator.concurrency=2"});
  run.StartRewardServer();
  run.StartLearner();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.updates() >= 5 && s.connected_actors() == 1 &&
               s.reward_server_reachable() &&
               s.reward_server().labels_total() >= 1 &&
               s.reward_model_version() >= 1;
      },
      seconds(150), &s))
      << s.DebugString();

  // lantern status finds the security keys in the run's config.yaml.
  std::string out;
  EXPECT_EQ(RunCommand(Bin("lantern") + " status " + run.run_dir(), &out), 0)
      << out;
  EXPECT_EQ(nlohmann::json::parse(out)["role"], "learner");

  // A client with TLS but without the token gets nothing from either server.
  common::Security stranger = run.ClientSecurity();
  stranger.token.clear();
  for (const std::string& address : {run.address(), run.reward_address()}) {
    auto learner =
        v1::Learner::NewStub(common::MakeChannel(address, 64 << 20, stranger));
    grpc::ClientContext ctx;
    v1::LearnerStatus ignored;
    EXPECT_EQ(
        learner->GetStatus(&ctx, v1::StatusRequest(), &ignored).error_code(),
        grpc::StatusCode::UNAUTHENTICATED)
        << address;
  }
  EXPECT_EQ(run.StopLearner(SIGTERM), 0);

  // No log of the run holds the token.
  absl::StatusOr<std::string> token = common::ReadFile(certs + "/token");
  ASSERT_TRUE(token.ok());
  const std::string secret(absl::StripAsciiWhitespace(*token));
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(run.run_dir())) {
    if (!entry.is_regular_file()) continue;
    absl::StatusOr<std::string> text = common::ReadFile(entry.path());
    if (text.ok()) {
      EXPECT_EQ(text->find(secret), std::string::npos) << entry.path();
    }
  }
  std::filesystem::remove_all(certs);
}

}  // namespace
}  // namespace lantern::e2e
