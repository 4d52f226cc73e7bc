#include "tests/e2e/test_run.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/grpc_util.h"

namespace lantern::e2e {
namespace {

// Small and quick: an MLP policy, short unrolls, frequent checkpoints.
constexpr char kBaseConfig[] = R"(run:
  name: e2e
  seed: 3
  stats_interval_s: 1
  checkpoint_interval_s: 0.5
env:
  task: dense
  width: 6
  height: 4
  crop: 7
  message_len: 32
actor:
  num_envs: 4
  unroll: 8
  max_unacked: 16
  heartbeat_interval_s: 0.25
learner:
  batch_size: 8
  queue_capacity: 4
  actor_timeout_s: 3
model:
  char_embedding: 4
  conv_channels: []
  hidden: 32
  stats_hidden: 16
  message_hidden: 16
)";

}  // namespace

std::string Bin(const std::string& name) {
  return std::string(LANTERN_BIN_DIR) + "/" + name;
}

std::set<std::string> EventTags(const std::string& dir) {
  std::string out;
  EXPECT_EQ(RunCommand(std::string("/usr/bin/python3 ") + LANTERN_SOURCE_DIR +
                           "/scripts/read_events.py --json " + dir,
                       &out),
            0)
      << out;
  std::set<std::string> tags;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    tags.insert(nlohmann::json::parse(line)["tag"].get<std::string>());
  }
  return tags;
}

nlohmann::json LastJsonLine(const std::string& output) {
  return nlohmann::json::parse(
      output.substr(output.rfind('\n', output.size() - 2) + 1));
}

TestRun::TestRun(const std::string& name, std::vector<std::string> sets)
    : sets_(std::move(sets)) {
  const std::string root = ::testing::TempDir() + "lantern_e2e_" + name + "_" +
                           std::to_string(::getpid());
  std::filesystem::remove_all(root);
  std::string yaml = kBaseConfig;
  yaml.replace(yaml.find("run:\n"), 5, "run:\n  dir: " + root + "\n");
  run_dir_ = root + "/e2e";
  config_path_ = root + "/config.yaml";
  EXPECT_TRUE(common::WriteFileAtomic(config_path_, yaml).ok());
}

std::vector<std::string> TestRun::Args(const std::string& binary) const {
  std::vector<std::string> argv = {Bin(binary), "--config", config_path_};
  for (const std::string& s : sets_) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  return argv;
}

TestRun::~TestRun() {
  for (auto& [i, p] : actors_) {
    p.Signal(SIGKILL);
    p.Wait();
  }
  for (std::unique_ptr<cli::Process>* p : {&learner_, &reward_}) {
    if (*p) {
      (*p)->Signal(SIGKILL);
      (*p)->Wait();
    }
  }
}

std::string TestRun::StartServer(const std::vector<std::string>& argv,
                                 const std::string& addr_name,
                                 std::unique_ptr<cli::Process>* process) {
  const std::string addr_file = run_dir_ + "/" + addr_name;
  std::filesystem::remove(addr_file);
  std::filesystem::create_directories(run_dir_);
  absl::StatusOr<cli::Process> p = cli::Process::Start(argv, /*quiet=*/true);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return "";
  *process = std::make_unique<cli::Process>(*p);
  // A server announces readiness by renaming its address file into the
  // run directory: wake on that event (inotify), not on a timer.
  const int fd = ::inotify_init1(IN_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_GE(::inotify_add_watch(fd, run_dir_.c_str(), IN_MOVED_TO | IN_CREATE),
            0);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<std::string> addr = common::ReadFile(addr_file);
    if (addr.ok() && !addr->empty() && addr->back() == '\n') {
      ::close(fd);
      return addr->substr(0, addr->size() - 1);
    }
    if ((*process)->Poll().has_value()) {
      ::close(fd);
      ADD_FAILURE() << argv[0] << " exited early; see " << run_dir_ << "/logs/";
      return "";
    }
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, /*timeout_ms=*/1000) > 0) {
      char events[4096];
      [[maybe_unused]] ssize_t n = ::read(fd, events, sizeof(events));
    }
  }
  ::close(fd);
  ADD_FAILURE() << argv[0] << " did not write " << addr_file;
  return "";
}

common::Security TestRun::ClientSecurity() const {
  absl::StatusOr<common::Config> config =
      common::LoadConfig(config_path_, sets_);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return {};
  absl::StatusOr<common::Security> security =
      common::LoadSecurity(config->security, /*server=*/false);
  EXPECT_TRUE(security.ok()) << security.status();
  return security.ok() ? *security : common::Security();
}

void TestRun::StartLearner() {
  std::vector<std::string> argv = Args("lantern-learner");
  if (!reward_address_.empty()) {
    argv.push_back("--reward");
    argv.push_back(reward_address_);
  }
  address_ = StartServer(argv, "learner.addr", &learner_);
  ASSERT_FALSE(address_.empty());
  stub_ = v1::Learner::NewStub(
      common::MakeChannel(address_, 64 << 20, ClientSecurity()));
}

void TestRun::StartRewardServer() {
  std::vector<std::string> argv = Args("lantern-reward-server");
  // A port of the test's choosing, which a restart keeps: see PickFreePort
  // for why not one the server picks.
  if (reward_address_.empty()) {
    reward_address_ = "127.0.0.1:" + std::to_string(PickFreePort());
  }
  argv.push_back("--listen");
  argv.push_back(reward_address_);
  reward_address_ = StartServer(argv, "reward.addr", &reward_);
  ASSERT_FALSE(reward_address_.empty());
  reward_stub_ = v1::RewardServer::NewStub(
      common::MakeChannel(reward_address_, 64 << 20, ClientSecurity()));
}

int TestRun::StopRewardServer(int signal) {
  reward_->Signal(signal);
  const int code = reward_->Wait();
  reward_.reset();
  return code;
}

bool TestRun::RewardStatus(v1::RewardStatus* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return reward_stub_->GetStatus(&ctx, v1::RewardStatusRequest(), out).ok();
}

bool TestRun::WaitForReward(
    const std::function<bool(const v1::RewardStatus&)>& pred,
    std::chrono::seconds timeout, v1::RewardStatus* last) {
  return Poll<v1::RewardStatus>(
      [this](v1::RewardStatus* s) { return RewardStatus(s); }, pred, timeout,
      last);
}

int TestRun::StopLearner(int signal) {
  learner_->Signal(signal);
  const int code = learner_->Wait();
  learner_.reset();
  return code;
}

int TestRun::WaitForLearnerExit(std::chrono::seconds timeout) {
  cli::Process* learner = learner_.get();
  std::future<int> exited =
      std::async(std::launch::async, [learner] { return learner->Wait(); });
  if (exited.wait_for(timeout) == std::future_status::timeout) {
    learner->Signal(SIGKILL);  // unblocks the waiting thread
    exited.get();
    learner_.reset();
    return -1;
  }
  const int code = exited.get();
  learner_.reset();
  return code;
}

void TestRun::StartActor(int index, const std::string& learner_address) {
  std::vector<std::string> argv = Args("lantern-actor");
  for (std::string a :
       {"--learner",
        (learner_address.empty() ? address_ : learner_address).c_str(),
        "--index"}) {
    argv.push_back(a);
  }
  argv.push_back(std::to_string(index));
  absl::StatusOr<cli::Process> p = cli::Process::Start(argv, /*quiet=*/true);
  ASSERT_TRUE(p.ok()) << p.status();
  actors_.erase(index);
  actors_.emplace(index, *p);
}

int TestRun::StopActor(int index, int signal) {
  auto it = actors_.find(index);
  if (it == actors_.end()) return -1;
  it->second.Signal(signal);
  const int code = it->second.Wait();
  actors_.erase(it);
  return code;
}

bool TestRun::Status(v1::LearnerStatus* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return stub_->GetStatus(&ctx, v1::StatusRequest(), out).ok();
}

bool TestRun::WaitFor(const std::function<bool(const v1::LearnerStatus&)>& pred,
                      std::chrono::seconds timeout, v1::LearnerStatus* last) {
  return Poll<v1::LearnerStatus>(
      [this](v1::LearnerStatus* s) { return Status(s); }, pred, timeout, last);
}

bool TestRun::FetchWeights(v1::PolicyWeights* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::WatchRequest req;
  req.set_known_version(-1);
  auto reader = stub_->WatchPolicy(&ctx, req);
  std::string bytes;
  v1::VersionChunk chunk;
  while (reader->Read(&chunk)) {
    if (chunk.index() == 0) bytes.clear();
    bytes += chunk.data();
    if (chunk.index() + 1 == chunk.num_chunks()) {
      ctx.TryCancel();
      return out->ParseFromString(bytes);
    }
  }
  return false;
}

bool LearnerIdle(const v1::LearnerStatus& s) {
  return s.connected_actors() == 0 && s.queue_depth() == 0 &&
         s.trajectories_accepted() >= s.trajectories_consumed() &&
         s.trajectories_accepted() - s.trajectories_consumed() <
             kTrajectoriesPerBatch &&
         s.policy_version() == s.updates();
}

}  // namespace lantern::e2e
