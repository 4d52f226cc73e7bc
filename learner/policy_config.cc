#include "learner/policy_config.h"

#include "actor/env_factory.h"

namespace lantern::learner {

absl::StatusOr<TrajectorySpec> SpecFor(const common::Config& c) {
  absl::StatusOr<actor::EnvShape> shape = actor::ShapeOf(c.env);
  if (!shape.ok()) return shape.status();
  const actor::ObsSpec& obs = shape->obs;
  TrajectorySpec spec;
  spec.unroll = c.actor.unroll;
  spec.crop = obs.crop;
  spec.num_stats = obs.num_stats;
  spec.message_len = obs.message_len;
  spec.num_actions = shape->num_actions;
  spec.state_size = c.model.use_rnn ? c.model.rnn_hidden : 0;
  spec.max_bytes = c.learner.max_message_mb << 20;
  return spec;
}

core::ModelOptions ModelOptionsFor(const common::Config& c,
                                   const TrajectorySpec& spec) {
  core::ModelOptions m;
  m.crop = int(spec.crop);
  m.num_stats = int(spec.num_stats);
  m.message_len = int(spec.message_len);
  m.num_actions = int(spec.num_actions);
  m.char_embedding = int(c.model.char_embedding);
  m.conv_channels.assign(c.model.conv_channels.begin(),
                         c.model.conv_channels.end());
  m.hidden = int(c.model.hidden);
  m.stats_hidden = int(c.model.stats_hidden);
  m.message_hidden = int(c.model.message_hidden);
  m.use_rnn = c.model.use_rnn;
  m.rnn_hidden = int(c.model.rnn_hidden);
  return m;
}

}  // namespace lantern::learner
