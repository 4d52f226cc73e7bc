// TLS and the bearer token in front of the real LearnerService: certificates
// from scripts/make_certs.sh (openssl), a real gRPC server, real clients.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "common/files.h"
#include "common/grpc_util.h"
#include "common/version_publisher.h"
#include "learner/ingest.h"
#include "learner/learner_service.h"
#include "tests/learner/test_trajectories.h"

namespace lantern::learner {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SecureServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "lantern_certs_" +
                           std::to_string(::getpid()));
    const std::string cmd = std::string(LANTERN_SOURCE_DIR) +
                            "/scripts/make_certs.sh " + *dir_ + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    // Everything Lantern logs during the test, to look for the token.
    spdlog::default_logger()->sinks().push_back(
        std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_));
    ::testing::internal::CaptureStderr();  // gRPC's own log lines
    common::SecurityConfig config = Config();
    config.token_file = *dir_ + "/token";
    absl::StatusOr<common::Security> security =
        common::LoadSecurity(config, /*server=*/true);
    ASSERT_TRUE(security.ok()) << security.status();
    token_ = security->token;
    ASSERT_EQ(token_.size(), 64u);
    ingest_ = std::make_unique<Ingest>(test::TestSpec(), 16);
    service_ = std::make_unique<LearnerService>(
        ingest_.get(), &publisher_, [] { return v1::LearnerStatus(); });
    absl::StatusOr<common::StartedServer> started = common::StartServer(
        "127.0.0.1:0", {service_.get()}, 64 << 20, *security);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
    address_ = "127.0.0.1:" + std::to_string(started->port);
  }

  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    ingest_->Close();
    const std::string grpc_log = ::testing::internal::GetCapturedStderr();
    spdlog::default_logger()->sinks().pop_back();
    // The token never appears in anything logged, by Lantern or gRPC.
    EXPECT_THAT(logged_.str(), Not(HasSubstr(token_)));
    EXPECT_THAT(grpc_log, Not(HasSubstr(token_)));
  }

  static common::SecurityConfig Config() {
    common::SecurityConfig c;
    c.tls_cert = *dir_ + "/server.pem";
    c.tls_key = *dir_ + "/server.key";
    c.tls_ca = *dir_ + "/ca.pem";
    c.token_env = "";
    return c;
  }

  // A client as an actor would build it; `change` edits its security.
  std::unique_ptr<v1::Learner::Stub> Client(
      const std::function<void(common::Security&)>& change = {}) {
    absl::StatusOr<common::Security> s =
        common::LoadSecurity(Config(), /*server=*/false);
    EXPECT_TRUE(s.ok()) << s.status();
    s->token = token_;
    if (change) change(*s);
    return v1::Learner::NewStub(common::MakeChannel(address_, 64 << 20, *s));
  }

  static grpc::Status GetStatus(v1::Learner::Stub& stub) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    v1::LearnerStatus status;
    return stub.GetStatus(&ctx, v1::StatusRequest(), &status);
  }

  // Sends one trajectory and returns how the stream ended or was acked.
  static grpc::Status Stream(v1::Learner::Stub& stub, bool* acked) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    auto stream = stub.StreamTrajectories(&ctx);
    stream->Write(test::MakeTrajectory(test::TestSpec(), 7, 0));
    v1::TrajectoryAck ack;
    *acked = stream->Read(&ack) && ack.status() == v1::TrajectoryAck::ACCEPTED;
    stream->WritesDone();
    while (stream->Read(&ack)) {
    }
    return stream->Finish();
  }

  static std::string* dir_;
  std::ostringstream logged_;
  std::string token_;
  common::VersionPublisher publisher_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<LearnerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

std::string* SecureServiceTest::dir_ = nullptr;

TEST_F(SecureServiceTest, AClientWithTlsAndTheTokenIsServed) {
  auto stub = Client();
  const grpc::Status st = GetStatus(*stub);
  EXPECT_TRUE(st.ok()) << st.error_message();
  bool acked = false;
  EXPECT_TRUE(Stream(*stub, &acked).ok());
  EXPECT_TRUE(acked);
}

TEST_F(SecureServiceTest, AClientWithoutTheTokenIsUnauthenticated) {
  auto stub = Client([](common::Security& s) { s.token.clear(); });
  const grpc::Status st = GetStatus(*stub);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("no bearer token"));
  bool acked = true;
  EXPECT_EQ(Stream(*stub, &acked).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(acked);
  EXPECT_EQ(ingest_->Counters().accepted, 0u);
}

TEST_F(SecureServiceTest, AClientWithAWrongTokenIsUnauthenticated) {
  for (std::string wrong :
       {std::string("0"), token_ + "0", token_.substr(0, 63) + "x"}) {
    auto stub = Client([&](common::Security& s) { s.token = wrong; });
    const grpc::Status st = GetStatus(*stub);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << wrong;
    EXPECT_EQ(st.error_message(), "wrong bearer token");
    grpc::ClientContext ctx;
    v1::RegisterActorResponse response;
    EXPECT_EQ(stub->RegisterActor(&ctx, v1::RegisterActorRequest(), &response)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(service_->registrations(), 0u);
}

TEST_F(SecureServiceTest, APlaintextClientIsRefused) {
  auto stub = Client([](common::Security& s) {
    s.tls = false;
    s.token.clear();
  });
  const grpc::Status st = GetStatus(*stub);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE)
      << st.error_message();
}

TEST_F(SecureServiceTest, AClientThatDoesNotTrustTheCertificateIsRefused) {
  // The system's roots do not include the local CA.
  auto stub = Client([](common::Security& s) { s.ca_pem.clear(); });
  EXPECT_EQ(GetStatus(*stub).error_code(), grpc::StatusCode::UNAVAILABLE);
  // Nor does a certificate for another name pass.
  stub = Client([](common::Security& s) { s.server_name = "elsewhere"; });
  EXPECT_EQ(GetStatus(*stub).error_code(), grpc::StatusCode::UNAVAILABLE);
  // The name the certificate holds does.
  stub = Client([](common::Security& s) { s.server_name = "learner"; });
  EXPECT_TRUE(GetStatus(*stub).ok());
}

}  // namespace
}  // namespace lantern::learner
