#include "actor/env_factory.h"

#include <cstdlib>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "actor/envs/grid/grid_env.h"
#include "actor/envs/nethack/nethack_env.h"
#include "actor/envs/remote/remote_env.h"

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

// env.kind: remote declares its shapes in the config (the server is not
// asked here: ShapeOf starts nothing, and the learner need not reach an env
// server that sits next to each actor). Each RemoteEnv checks them against
// the server's GetSpec.
ObsSpec RemoteObsOf(const common::EnvConfig& config) {
  return {.crop = int(config.crop),
          .num_stats = int(config.num_stats),
          .message_len = int(config.message_len)};
}

// env.address, else $LANTERN_ENV_ADDR (one image, many deployments).
std::string RemoteAddressOf(const common::EnvConfig& config) {
  if (!config.address.empty()) return config.address;
  const char* env = std::getenv("LANTERN_ENV_ADDR");
  return env != nullptr ? env : "";
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
  if (config.kind == "remote") {
    if (config.num_actions < 1) {
      return "num_actions: required for kind remote (the server's action "
             "count; scripts/env_server.py --print-config prints it)";
    }
    return "";
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
  if (config.kind == "remote") {
    return EnvShape{.obs = RemoteObsOf(config),
                    .num_actions = int(config.num_actions)};
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
  if (config.kind == "remote") {
    remote::RemoteOptions o;
    o.address = RemoteAddressOf(config);
    if (o.address.empty()) {
      return absl::InvalidArgumentError(
          "env: address: empty and LANTERN_ENV_ADDR is not set (the "
          "host:port of the environment server)");
    }
    o.obs = RemoteObsOf(config);
    o.num_actions = int(config.num_actions);
    o.timeout_ms = int(config.timeout_ms);
    o.connect_timeout_ms = int(config.connect_timeout_ms);
    o.client = absl::StrCat("seed-", seed);
    absl::StatusOr<std::unique_ptr<remote::RemoteEnv>> env =
        remote::RemoteEnv::Create(o, seed);
    if (!env.ok()) return env.status();
    return std::unique_ptr<Env>(*std::move(env));
  }
  try {
    return std::make_unique<nethack::NethackEnv>(NethackOptionsOf(config),
                                                 seed);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("env: ", e.what()));
  }
}

}  // namespace lantern::actor
