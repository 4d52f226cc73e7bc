#include "actor/env_factory.h"

#include "absl/strings/str_cat.h"
#include "actor/envs/grid/grid_env.h"

namespace lantern::actor {

absl::StatusOr<std::unique_ptr<Env>> MakeEnv(const common::EnvConfig& config,
                                             uint64_t seed) {
  if (config.kind == "grid") {
    GridOptions o;
    o.width = int(config.width);
    o.height = int(config.height);
    o.crop = int(config.crop);
    o.message_len = int(config.message_len);
    o.max_steps = int(config.max_steps);
    o.dense = config.task == "dense";
    o.layout = config.layout;
    o.distractor_prob = config.distractor_prob;
    if (std::string why = GridEnv::Validate(o); !why.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("env: ", why));
    }
    return std::make_unique<GridEnv>(o, seed);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("env.kind: unknown environment '", config.kind, "'"));
}

}  // namespace lantern::actor
