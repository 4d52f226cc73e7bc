#include "learner/core/random_batch.h"

#include <torch/torch.h>

#include <vector>

namespace lantern::core {

Batch RandomBatch(const ModelOptions& o, int64_t steps, int64_t envs,
                  double done_rate) {
  Batch b;
  std::vector<int64_t> chars_shape = {steps + 1, envs};
  if (o.image_channels > 0) chars_shape.push_back(o.image_channels);
  chars_shape.insert(chars_shape.end(), {o.crop, o.crop});
  b.chars = torch::randint(0, 256, chars_shape, torch::kUInt8);
  b.stats = torch::randn({steps + 1, envs, o.num_stats});
  b.message =
      torch::randint(0, 256, {steps + 1, envs, o.message_len}, torch::kUInt8);
  b.actions = torch::randint(0, o.num_actions, {steps, envs}, torch::kLong);
  b.behaviour_logits = torch::randn({steps, envs, o.num_actions});
  b.rewards = torch::randn({steps, envs});
  b.dones = torch::rand({steps, envs}).lt(done_rate).to(torch::kUInt8);
  b.initial_state =
      o.use_rnn ? torch::randn({envs, o.rnn_hidden}) : torch::zeros({envs, 0});
  return b;
}

}  // namespace lantern::core
