#include "actor/env_factory.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "actor/envs/grid/grid_env.h"
#include "actor/envs/nethack/nethack_env.h"

namespace lantern::actor {
namespace {

GridOptions GridOptionsOf(const common::EnvConfig& config) {
  GridOptions o;
  o.width = int(config.width);
  o.height = int(config.height);
  o.crop = int(config.crop);
  o.message_len = int(config.message_len);
  o.max_steps = int(config.max_steps);
  o.dense = config.task == "dense";
  o.layout = config.layout;
  o.distractor_prob = config.distractor_prob;
  return o;
}

nethack::NethackOptions NethackOptionsOf(const common::EnvConfig& config) {
  nethack::NethackOptions o;
  o.task = config.task;
  o.crop = int(config.crop);
  o.message_len = int(config.message_len);
  o.max_steps = int(config.max_steps);
  o.target_depth = int(config.target_depth);
  o.character = config.character;
  o.binary = config.nethack_binary;
  o.dir = config.nethack_dir;
  o.shim = config.nethack_shim;
  o.completion = config.completion == "proc" ? nethack::Completion::kProc
                                             : nethack::Completion::kShim;
  o.step_timeout_ms = int(config.step_timeout_ms);
  return o;
}

// "" when the options fit the family, else the problems.
std::string Check(const common::EnvConfig& config) {
  if (config.kind == "grid") {
    if (config.task != "dense" && config.task != "sparse") {
      return absl::StrCat("task: '", config.task,
                          "' is not a grid task (dense, sparse)");
    }
    return GridEnv::Validate(GridOptionsOf(config));
  }
  if (config.kind == "nethack") {
    return nethack::NethackEnv::Validate(NethackOptionsOf(config));
  }
  return absl::StrCat("kind: unknown environment '", config.kind, "'");
}

}  // namespace

absl::StatusOr<EnvShape> ShapeOf(const common::EnvConfig& config) {
  if (std::string why = Check(config); !why.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("env: ", why));
  }
  if (config.kind == "nethack") {
    return EnvShape{.obs = {.crop = int(config.crop),
                            .num_stats = nethack::NethackEnv::kNumStats,
                            .message_len = int(config.message_len)},
                    .num_actions = nethack::NethackEnv::kNumActions};
  }
  const GridEnv probe(GridOptionsOf(config), 0);  // cheap: no process
  return EnvShape{.obs = probe.Spec(), .num_actions = probe.NumActions()};
}

absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const common::EnvConfig& config,
                                             uint64_t seed) {
  if (std::string why = Check(config); !why.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("env: ", why));
  }
  if (config.kind == "grid") {
    return std::make_unique<GridEnv>(GridOptionsOf(config), seed);
  }
  try {
    return std::make_unique<nethack::NethackEnv>(NethackOptionsOf(config),
                                                 seed);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("env: ", e.what()));
  }
}

}  // namespace lantern::actor
