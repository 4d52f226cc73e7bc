// An actor killed with SIGKILL leaves no game process and no files behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "testing/process_exit.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

// Waits until `dir` has been deleted, up to `timeout_ms`.
bool WaitForRemoval(const fs::path& dir, int timeout_ms) {
  const int fd = inotify_init1(IN_CLOEXEC);
  const int watch = inotify_add_watch(fd, dir.c_str(), IN_DELETE_SELF);
  bool removed = watch < 0 && !fs::exists(dir);
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  while (!removed && poll(&p, 1, timeout_ms) == 1) {
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    for (ssize_t i = 0; i < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + i);
      removed = removed || (e->mask & (IN_DELETE_SELF | IN_IGNORED));
      i += ssize_t(sizeof(inotify_event) + e->len);
    }
  }
  close(fd);
  return removed || !fs::exists(dir);
}

// Processes whose executable lives under `root` (the game copies).
std::vector<pid_t> GamesUnder(const fs::path& root) {
  std::vector<pid_t> found;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    const fs::path exe = fs::read_symlink(e.path() / "exe", ec);
    if (!ec && exe.string().rfind(root.string(), 0) == 0) {
      found.push_back(pid_t(std::stoi(name)));
    }
  }
  return found;
}

TEST(NethackKillTest, NoGameAndNoFileOutlivesAKilledActor) {
  char pattern[] = "/tmp/lantern-kill-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const fs::path parent = pattern;
  // Run as root, the games run as "nobody", who must reach the playgrounds.
  fs::permissions(parent, fs::perms(0711));

  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  const std::string child = std::string(LANTERN_BIN_DIR) + "/nethack_child";
  char* argv[] = {const_cast<char*>(child.c_str()),
                  const_cast<char*>(parent.c_str()), nullptr};
  pid_t actor = -1;
  ASSERT_EQ(
      posix_spawn(&actor, child.c_str(), &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);

  // "<root> <pid> <pid> <pid>" once the games run.
  FILE* from_actor = fdopen(out[0], "r");
  char line[4096] = {};
  ASSERT_NE(std::fgets(line, sizeof line, from_actor), nullptr);
  std::fclose(from_actor);
  std::istringstream words(line);
  std::string root;
  words >> root;
  std::vector<pid_t> games;
  for (int pid; words >> pid;) games.push_back(pid_t(pid));
  ASSERT_EQ(games.size(), 3u) << line;
  ASSERT_TRUE(fs::exists(root)) << root;
  EXPECT_EQ(fs::path(root).parent_path(), parent);
  for (pid_t g : games) EXPECT_EQ(kill(g, 0), 0) << "game " << g;

  ASSERT_EQ(kill(actor, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(actor, &status, 0), actor);
  ASSERT_TRUE(WIFSIGNALED(status));

  for (pid_t g : games)
    EXPECT_TRUE(lantern::testing::WaitForProcessExit(g, 5000)) << "game " << g;
  EXPECT_TRUE(WaitForRemoval(root, 10000)) << root << " is still there";
  EXPECT_TRUE(GamesUnder(root).empty());
  EXPECT_TRUE(fs::is_empty(parent)) << "stray files in " << parent;
  fs::remove_all(parent);
}

}  // namespace
