#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/process.h"
#include "common/security.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "lantern/v1/reward.grpc.pb.h"
#include "testing/local.h"

namespace lantern::e2e {

// One training run of real lantern-learner, lantern-actor and
// lantern-reward-server processes on 127.0.0.1 in a fresh temporary run
// directory. Kills whatever still runs when destroyed.
class TestRun {
 public:
  // A small, fast base config; `sets` are --set overrides passed to every
  // process.
  explicit TestRun(const std::string& name, std::vector<std::string> sets = {});
  ~TestRun();

  // Starts the learner and waits until it serves (its learner.addr file).
  // It gets the reward server's address if one was started.
  void StartLearner();
  // Starts the reward server and waits until it serves; started again, it
  // listens on the address it had.
  void StartRewardServer();
  int StopRewardServer(int signal);
  bool RewardStatus(v1::RewardStatus* out);
  bool WaitForReward(const std::function<bool(const v1::RewardStatus&)>& pred,
                     std::chrono::seconds timeout,
                     v1::RewardStatus* last = nullptr);
  // Makes the learner dial this reward server address (e.g. one where no
  // server runs yet; StartRewardServer then listens there).
  void set_reward_address(const std::string& a) { reward_address_ = a; }
  // Sends `signal` to the learner and waits for it; returns its exit status.
  int StopLearner(int signal);
  // Waits for the learner to end by itself; its exit status, or -1 if it
  // still runs after `timeout`.
  int WaitForLearnerExit(std::chrono::seconds timeout);
  // The actor dials `learner_address` (default: the learner's own).
  void StartActor(int index, const std::string& learner_address = "");
  int StopActor(int index, int signal);
  // Sends `signal` to actor `index` without waiting (SIGSTOP, SIGCONT).
  void SignalActor(int index, int signal) { actors_.at(index).Signal(signal); }
  // The learner's process id (-1 when it is not running).
  pid_t LearnerPid() const { return learner_ ? learner_->pid() : -1; }
  // The process id of actor `index` (-1 when it was not started).
  pid_t ActorPid(int index) const {
    auto it = actors_.find(index);
    return it == actors_.end() ? -1 : it->second.pid();
  }

  // The learner's status; false if it does not answer within 2 s.
  bool Status(v1::LearnerStatus* out);

  // Polls the learner's status (every 50 ms) until `pred` holds; false on
  // timeout. The last status seen is left in `last`.
  bool WaitFor(const std::function<bool(const v1::LearnerStatus&)>& pred,
               std::chrono::seconds timeout, v1::LearnerStatus* last = nullptr);

  // The newest complete policy version from WatchPolicy.
  bool FetchWeights(v1::PolicyWeights* out);

  // TLS and token as the run's security.* keys say, for clients of it.
  common::Security ClientSecurity() const;

  const std::string& run_dir() const { return run_dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& address() const { return address_; }
  const std::string& reward_address() const { return reward_address_; }

 private:
  std::vector<std::string> Args(const std::string& binary) const;
  // Starts `argv` and returns the address it writes to <run dir>/addr_name
  // ("" after a test failure).
  std::string StartServer(const std::vector<std::string>& argv,
                          const std::string& addr_name,
                          std::unique_ptr<cli::Process>* process);

  // Polls `get` every 50 ms until `pred` holds; false on timeout.
  template <class S, class Get, class Pred>
  static bool Poll(Get get, const Pred& pred, std::chrono::seconds timeout,
                   S* last) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    S s;
    bool held = false;
    while (!held && std::chrono::steady_clock::now() < deadline) {
      held = get(&s) && pred(s);
      if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (last) *last = s;
    return held;
  }

  std::vector<std::string> sets_;
  std::string run_dir_;
  std::string config_path_;
  std::string address_;
  std::unique_ptr<cli::Process> learner_;
  std::map<int, cli::Process> actors_;
  std::unique_ptr<v1::Learner::Stub> stub_;
  std::string reward_address_;
  std::unique_ptr<cli::Process> reward_;
  std::unique_ptr<v1::RewardServer::Stub> reward_stub_;
};

// Trajectories per update in the base config (learner.batch_size /
// actor.num_envs).
inline constexpr uint64_t kTrajectoriesPerBatch = 8 / 4;

// The learner has nothing left to do until an actor comes: no actor
// connected, the queue drained, fewer than a batch's worth waiting in the
// batch being built (nothing accepted is lost), and its last update
// published. Only idle can a test take its weights or counters as final:
// the last actor leaves with up to queue_capacity trajectories still to
// train on.
bool LearnerIdle(const v1::LearnerStatus& s);

// <build>/bin/<name>: the binaries under test.
std::string Bin(const std::string& name);

// The tags of the scalars in the TensorBoard event files under `dir`, as
// scripts/read_events.py (an independent reader) reads them; a failure if
// it cannot.
std::set<std::string> EventTags(const std::string& dir);

// The last line of a command's output (a Lantern command's JSON result,
// after what it printed to stderr), parsed.
nlohmann::json LastJsonLine(const std::string& output);

using ::lantern::testing::PickFreePort;
using ::lantern::testing::RunCommand;

}  // namespace lantern::e2e
