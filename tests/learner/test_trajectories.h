#pragma once

// One builder of valid trajectories, shared by the learner's ingest-side
// tests: T=4 steps, N=3 envs, a 5x5 crop, 5 stats, a 16-byte message and 5
// actions, with or without a recurrent state.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/tensor_codec.h"
#include "lantern/v1/learner.pb.h"
#include "learner/trajectory_spec.h"

namespace lantern::learner::test {

inline constexpr int64_t kUnroll = 4;
inline constexpr int64_t kNumEnvs = 3;

inline TrajectorySpec TestSpec(int64_t state_size = 0) {
  TrajectorySpec spec;
  spec.unroll = kUnroll;
  spec.crop = 5;
  spec.num_stats = 5;
  spec.message_len = 16;
  spec.num_actions = 5;
  spec.state_size = state_size;
  return spec;
}

// A RegisterActor request that a learner with TestSpec() accepts.
inline v1::RegisterActorRequest TestRegistration(uint64_t incarnation = 99) {
  const TrajectorySpec spec = TestSpec();
  v1::RegisterActorRequest r;
  r.set_incarnation(incarnation);
  r.set_host("test");
  r.set_num_envs(kNumEnvs);
  r.set_crop(int32_t(spec.crop));
  r.set_num_stats(int32_t(spec.num_stats));
  r.set_message_len(int32_t(spec.message_len));
  r.set_num_actions(int32_t(spec.num_actions));
  r.set_state_size(int32_t(spec.state_size));
  return r;
}

// Encodes `values` with `shape`; safe for an empty tensor too.
template <class T>
v1::Tensor Encode(std::vector<int64_t> shape, const std::vector<T>& values) {
  static const T kNone{};
  v1::Tensor t;
  common::EncodeTensor<T>(shape, values.empty() ? &kNone : values.data(), &t);
  return t;
}

// A trajectory that passes ValidateTrajectory(t, spec) for a spec made by
// TestSpec(): every value is in range, one env ends an episode at step 2.
inline v1::Trajectory MakeTrajectory(const TrajectorySpec& spec,
                                     uint64_t incarnation = 1, uint64_t seq = 0,
                                     int64_t num_envs = kNumEnvs) {
  const int64_t T = spec.unroll;
  const int64_t n = num_envs;
  v1::Trajectory t;
  t.set_actor_id(1);
  t.set_incarnation(incarnation);
  t.set_seq(seq);
  t.set_policy_version(0);
  for (int64_t i = 0; i < n; ++i) t.add_env_ids(int32_t(i));

  auto add_obs = [&t](const std::string& name, v1::Tensor tensor) {
    v1::NamedTensor* nt = t.add_observations();
    nt->set_name(name);
    *nt->mutable_tensor() = std::move(tensor);
  };
  add_obs("chars", Encode<uint8_t>(
                       {T + 1, n, spec.crop, spec.crop},
                       std::vector<uint8_t>((T + 1) * n * spec.crop * spec.crop,
                                            uint8_t('.'))));
  std::vector<float> stats((T + 1) * n * spec.num_stats);
  for (size_t i = 0; i < stats.size(); ++i) stats[i] = float(i % 7) * 0.5f;
  add_obs("stats", Encode<float>({T + 1, n, spec.num_stats}, stats));
  add_obs("message",
          Encode<uint8_t>({T + 1, n, spec.message_len},
                          std::vector<uint8_t>((T + 1) * n * spec.message_len,
                                               uint8_t('m'))));

  std::vector<int32_t> actions(T * n);
  for (size_t i = 0; i < actions.size(); ++i) {
    actions[i] = int32_t(i % spec.num_actions);
  }
  *t.mutable_actions() = Encode<int32_t>({T, n}, actions);
  std::vector<float> logits(T * n * spec.num_actions);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(i % 3) - 1.0f;
  *t.mutable_behaviour_logits() =
      Encode<float>({T, n, spec.num_actions}, logits);
  *t.mutable_rewards() =
      Encode<float>({T, n}, std::vector<float>(T * n, 0.25f));
  std::vector<uint8_t> dones(T * n, 0);
  dones[2 * n] = 1;  // env 0 ends an episode at step 2
  *t.mutable_dones() = Encode<uint8_t>({T, n}, dones);
  std::vector<std::string> captions;
  for (int64_t i = 0; i < T * n; ++i) {
    captions.push_back("caption " + std::to_string(i));
  }
  PackCaptions(captions, &t);
  *t.mutable_caption_counts() =
      Encode<int32_t>({T, n}, std::vector<int32_t>(T * n, 1));
  *t.mutable_initial_state() = Encode<float>(
      {n, spec.state_size}, std::vector<float>(n * spec.state_size, 0.0f));
  v1::EpisodeStats* e = t.add_episodes();
  e->set_episode_return(1.0f);
  e->set_length(7);
  e->set_success(true);
  return t;
}

// The observation part called `name` (chars, stats or message).
inline v1::Tensor* MutableObservation(v1::Trajectory& t,
                                      const std::string& name) {
  for (v1::NamedTensor& nt : *t.mutable_observations()) {
    if (nt.name() == name) return nt.mutable_tensor();
  }
  return nullptr;
}

// Overwrites element `index` of a tensor in place, keeping its size.
template <class T>
void SetElement(v1::Tensor* t, int64_t index, T value) {
  std::string* data = t->mutable_data();
  std::memcpy(data->data() + index * sizeof(T), &value, sizeof(T));
}

}  // namespace lantern::learner::test
