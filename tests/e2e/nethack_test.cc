// End-to-end on the real NetHack: a learner and an actor whose envs are
// games in pseudo-terminals.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/files.h"
#include "testing/process_exit.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

// The NetHack games `actor` started: its children running the game copy
// (named "nethack"; a game that just died is still listed, as a zombie).
std::vector<pid_t> GamesOf(pid_t actor) {
  std::vector<pid_t> games;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // "pid (comm) state ppid ..."
    const size_t open = line.find('(');
    const size_t close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = -1;
    rest >> state >> ppid;
    if (ppid == actor && line.substr(open + 1, close - open - 1) == "nethack") {
      games.push_back(pid_t(std::stoi(name)));
    }
  }
  return games;
}

TEST(NethackE2eTest, AnActorTrainsOnTheRealGameAndLeavesNoGameBehind) {
  TestRun run("nethack", {"env.kind=nethack", "env.task=staircase",
                          "env.max_steps=300", "env.message_len=64"});
  run.StartLearner();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.trajectories_accepted() >= 20 && s.episodes() >= 2 &&
               s.updates() >= 3;
      },
      seconds(120), &s))
      << s.DebugString();
  EXPECT_EQ(s.rejected(), 0u);
  const std::vector<pid_t> games = GamesOf(run.ActorPid(0));
  // actor.num_envs games; one may be between its kill and the next start.
  EXPECT_GE(games.size(), 3u);
  EXPECT_LE(games.size(), 4u);

  EXPECT_EQ(run.StopActor(0, SIGKILL), 128 + SIGKILL);
  for (pid_t g : games)
    EXPECT_TRUE(lantern::testing::WaitForProcessExit(g, 5000)) << "game " << g;
  EXPECT_EQ(run.StopLearner(SIGTERM), 0);
  absl::StatusOr<std::string> text =
      common::ReadFile(run.run_dir() + "/summary.json");
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json summary = nlohmann::json::parse(*text);
  EXPECT_GE(summary["episodes"].get<int64_t>(), 2);
  EXPECT_GE(summary["env_steps"].get<int64_t>(), 20 * 4 * 8);

  // The checkpoint plays a short game and the replay shows the screen: an
  // 80-column asciicast of the 24 rows plus three lines of text.
  std::string out;
  ASSERT_EQ(RunCommand(Bin("lantern") + " eval " + run.run_dir() +
                           " --episodes 1 --replays 1 --set env.max_steps=30",
                       &out),
            0)
      << out;
  const nlohmann::json eval = LastJsonLine(out);
  EXPECT_EQ(eval["mean_length"].get<double>(), 30) << out;
  absl::StatusOr<std::string> cast =
      common::ReadFile(eval["replays"][0].get<std::string>());
  ASSERT_TRUE(cast.ok());
  std::istringstream in(*cast);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const nlohmann::json header = nlohmann::json::parse(line);
  EXPECT_EQ(header["width"], 80);
  EXPECT_EQ(header["height"], 24 + 3);
  int frames = 0;
  std::string last;
  while (std::getline(in, line)) {
    last = nlohmann::json::parse(line)[2].get<std::string>();
    ++frames;
  }
  EXPECT_EQ(frames, 31);  // the start and 30 steps
  EXPECT_NE(last.find("Dlvl:"), std::string::npos) << last;  // status line
}

}  // namespace
}  // namespace lantern::e2e
