// Test helper for nethack_kill_test: an "actor" that runs NetHack envs under
// the directory argv[1], prints "<playground root> <game pid>..." once they
// run, then steps them until it is killed.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "actor/envs/nethack/nethack_env.h"

int main(int argc, char** argv) {
  using lantern::actor::nethack::NethackEnv;
  using lantern::actor::nethack::NethackOptions;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  NethackOptions options;
  options.dir = argv[1];
  std::vector<std::unique_ptr<NethackEnv>> envs;
  for (int i = 0; i < 3; ++i) {
    envs.push_back(std::make_unique<NethackEnv>(options, uint64_t(i)));
  }
  std::printf(
      "%s",
      std::filesystem::path(envs[0]->playground_dir()).parent_path().c_str());
  for (const auto& env : envs) std::printf(" %d", int(env->game_pid()));
  std::printf("\n");
  std::fflush(stdout);
  for (uint64_t i = 0;; ++i) {
    NethackEnv& env = *envs[i % envs.size()];
    if (env.Step(int(i * 7 % NethackEnv::kNumActions)).done) env.Reset();
  }
}
