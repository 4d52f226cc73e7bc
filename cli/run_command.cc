#include "cli/run_command.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "cli/process.h"
#include "common/files.h"
#include "common/signals.h"

namespace lantern::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxRestarts = 20;

struct Running {
  const Role* role;
  int index;
  Process process;
  int restarts = 0;
};

}  // namespace

std::vector<Role> Roles(const common::Config& config) {
  std::vector<Role> roles;
  const bool rewards = config.reward.model_kind != "none";
  if (rewards) {
    roles.push_back({.name = "reward",
                     .binary = "lantern-reward-server",
                     .count = 1,
                     .is_server = true,
                     .restart = true});
  }
  roles.push_back({.name = "learner",
                   .binary = "lantern-learner",
                   .count = 1,
                   .is_server = true,
                   .peers = rewards ? std::vector<std::string>{"reward"}
                                    : std::vector<std::string>{},
                   .restart = false,
                   .ends_run = true});
  roles.push_back({.name = "actor",
                   .binary = "lantern-actor",
                   .count = int(config.actor.count),
                   .peers = {"learner"},
                   .restart = true});
  return roles;
}

int RunLocal(const common::Config& config, const std::string& bin_dir) {
  namespace fs = std::filesystem;
  const std::string run_dir = config.RunDir();
  fs::create_directories(run_dir + "/logs");
  const std::string config_path = run_dir + "/config.yaml";
  if (absl::Status st =
          common::WriteFileAtomic(config_path, common::ConfigToYaml(config));
      !st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.ToString().c_str());
    return 1;
  }
  const std::atomic<bool>& stop = common::InstallStopHandler();
  const std::vector<Role> roles = Roles(config);

  std::map<std::string, std::string> addresses;  // server role -> address
  std::vector<Running> running;
  auto start = [&](const Role& role, int index) -> absl::StatusOr<Process> {
    std::vector<std::string> argv = {bin_dir + "/" + role.binary, "--config",
                                     config_path};
    for (const std::string& peer : role.peers) {
      argv.push_back("--" + peer);
      argv.push_back(addresses.at(peer));
    }
    if (role.is_server && addresses.count(role.name)) {
      // A restarted server takes its old address: its clients reconnect.
      argv.push_back("--listen");
      argv.push_back(addresses.at(role.name));
    }
    if (!role.is_server) {
      argv.push_back("--index");
      argv.push_back(std::to_string(index));
    }
    // The learner talks to the terminal (stats lines); the rest log to
    // files in the run directory.
    return Process::Start(argv, /*quiet=*/!role.ends_run);
  };

  auto stop_all = [&](int signal) {
    // Clients first, so servers see them leave; then the servers.
    for (auto it = running.rbegin(); it != running.rend(); ++it) {
      if (!it->role->is_server) it->process.Signal(signal);
    }
    for (Running& r : running) {
      if (!r.role->is_server) r.process.Wait();
    }
    // Servers last to first: the learner asks the reward server for its
    // final figures as it stops.
    for (auto it = running.rbegin(); it != running.rend(); ++it) {
      it->process.Signal(signal);
      it->process.Wait();
    }
  };

  for (const Role& role : roles) {
    for (int i = 0; i < role.count; ++i) {
      if (role.is_server) {
        fs::remove(run_dir + "/" + role.name + ".addr");
      }
      absl::StatusOr<Process> p = start(role, i);
      if (!p.ok()) {
        std::fprintf(stderr, "error: starting %s: %s\n", role.name.c_str(),
                     p.status().ToString().c_str());
        stop_all(SIGTERM);
        return 1;
      }
      running.push_back({&role, i, *p});
      if (!role.is_server) continue;
      // Wait for the server to publish the port it picked.
      const std::string addr_file = run_dir + "/" + role.name + ".addr";
      const auto deadline = Clock::now() + std::chrono::seconds(120);
      while (true) {
        absl::StatusOr<std::string> addr = common::ReadFile(addr_file);
        if (addr.ok() && !addr->empty() && addr->back() == '\n') {
          addresses[role.name] = addr->substr(0, addr->size() - 1);
          break;
        }
        if (auto code = running.back().process.Poll(); code.has_value()) {
          std::fprintf(stderr,
                       "error: %s exited with status %d before it "
                       "was ready; see %s/logs/\n",
                       role.name.c_str(), *code, run_dir.c_str());
          stop_all(SIGTERM);
          return *code == 0 ? 1 : *code;
        }
        if (stop.load() || Clock::now() > deadline) {
          std::fprintf(stderr, "error: %s did not become ready\n",
                       role.name.c_str());
          stop_all(SIGTERM);
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  int result = 0;
  bool ended = false;
  while (!ended) {
    if (stop.load()) {
      std::fprintf(stderr, "stopping (signal)...\n");
      break;
    }
    for (Running& r : running) {
      std::optional<int> code = r.process.Poll();
      if (!code.has_value()) continue;
      if (r.role->ends_run) {
        result = *code;
        ended = true;
        break;
      }
      if (r.role->restart && r.restarts < kMaxRestarts) {
        std::fprintf(stderr, "%s %d exited with status %d; restarting\n",
                     r.role->name.c_str(), r.index, *code);
        absl::StatusOr<Process> p = start(*r.role, r.index);
        if (p.ok()) {
          r.process = *p;
          ++r.restarts;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop_all(SIGTERM);
  for (Running& r : running) {
    if (r.role->ends_run) result = r.process.Wait();
  }
  std::printf("run directory: %s\n", fs::absolute(run_dir).c_str());
  if (absl::StatusOr<std::string> summary =
          common::ReadFile(run_dir + "/summary.json");
      summary.ok()) {
    std::printf("summary (%s/summary.json):\n%s", run_dir.c_str(),
                summary->c_str());
  }
  return result;
}

}  // namespace lantern::cli
