#include "learner/trajectory_spec.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/tensor_codec.h"

namespace lantern::learner {
namespace {

using common::CheckTensor;

absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(what);
}

}  // namespace

absl::Status ValidateTrajectory(const v1::Trajectory& t,
                                const TrajectorySpec& spec) {
  const int64_t T = spec.unroll;
  if (int64_t(t.ByteSizeLong()) > spec.max_bytes) {
    return Invalid(absl::StrCat("size: trajectory of ", t.ByteSizeLong(),
                                " bytes is over the limit of ",
                                spec.max_bytes));
  }
  const int64_t n = t.env_ids_size();
  if (n < 1 || n > spec.max_envs) {
    return Invalid(
        absl::StrCat("env_ids: ", n, " envs, expected 1..", spec.max_envs));
  }
  // Observations: exactly the three named parts, each once.
  const v1::Tensor* chars = nullptr;
  const v1::Tensor* stats = nullptr;
  const v1::Tensor* message = nullptr;
  for (const v1::NamedTensor& nt : t.observations()) {
    const v1::Tensor** slot = nt.name() == "chars"     ? &chars
                              : nt.name() == "stats"   ? &stats
                              : nt.name() == "message" ? &message
                                                       : nullptr;
    if (slot == nullptr) {
      return Invalid(absl::StrCat("observations: unknown part '",
                                  nt.name().substr(0, 64), "'"));
    }
    if (*slot != nullptr) {
      return Invalid(absl::StrCat("observations: '", nt.name(), "' twice"));
    }
    *slot = &nt.tensor();
  }
  if (!chars || !stats || !message) {
    return Invalid("observations: need chars, stats and message");
  }
  LANTERN_RETURN_IF_ERROR(CheckTensor(*chars, "observations.chars",
                                      v1::DTYPE_UINT8,
                                      {{T + 1, n, spec.crop, spec.crop}}));
  LANTERN_RETURN_IF_ERROR(CheckTensor(*stats, "observations.stats",
                                      v1::DTYPE_FLOAT32,
                                      {{T + 1, n, spec.num_stats}}));
  LANTERN_RETURN_IF_ERROR(CheckTensor(*message, "observations.message",
                                      v1::DTYPE_UINT8,
                                      {{T + 1, n, spec.message_len}}));
  LANTERN_RETURN_IF_ERROR(
      CheckTensor(t.actions(), "actions", v1::DTYPE_INT32, {{T, n}}));
  LANTERN_RETURN_IF_ERROR(CheckTensor(t.behaviour_logits(), "behaviour_logits",
                                      v1::DTYPE_FLOAT32,
                                      {{T, n, spec.num_actions}}));
  LANTERN_RETURN_IF_ERROR(
      CheckTensor(t.rewards(), "rewards", v1::DTYPE_FLOAT32, {{T, n}}));
  LANTERN_RETURN_IF_ERROR(
      CheckTensor(t.dones(), "dones", v1::DTYPE_UINT8, {{T, n}}));
  LANTERN_RETURN_IF_ERROR(CheckTensor(t.caption_counts(), "caption_counts",
                                      v1::DTYPE_INT32, {{T, n}}));
  LANTERN_RETURN_IF_ERROR(CheckTensor(t.initial_state(), "initial_state",
                                      v1::DTYPE_FLOAT32,
                                      {{n, spec.state_size}}));

  const int32_t* actions = common::TensorData<int32_t>(t.actions());
  const uint8_t* dones = common::TensorData<uint8_t>(t.dones());
  const int32_t* counts = common::TensorData<int32_t>(t.caption_counts());
  for (int64_t i = 0; i < T * n; ++i) {
    if (actions[i] < 0 || actions[i] >= spec.num_actions) {
      return Invalid(absl::StrCat("actions: value ", actions[i], " at element ",
                                  i, " is outside [0, ", spec.num_actions,
                                  ")"));
    }
    if (dones[i] > 1) {
      return Invalid(absl::StrCat("dones: value ", int(dones[i]),
                                  " at element ", i, " is not 0 or 1"));
    }
    if (counts[i] < 1) {
      return Invalid(absl::StrCat("caption_counts: value ", counts[i],
                                  " at element ", i, " is below 1"));
    }
  }
  LANTERN_RETURN_IF_ERROR(CheckTensor(t.caption_offsets(), "caption_offsets",
                                      v1::DTYPE_INT32, {{T * n + 1}}));
  const int32_t* offsets = common::TensorData<int32_t>(t.caption_offsets());
  if (offsets[0] != 0 || offsets[T * n] != int64_t(t.caption_bytes().size())) {
    return Invalid(absl::StrCat(
        "caption_offsets: must run from 0 to the ", t.caption_bytes().size(),
        " bytes of caption_bytes, got ", offsets[0], " .. ", offsets[T * n]));
  }
  for (int64_t i = 0; i < T * n; ++i) {
    const int64_t len = int64_t(offsets[i + 1]) - offsets[i];
    if (len < 0) {
      return Invalid(
          absl::StrCat("caption_offsets: decreasing at element ", i + 1));
    }
    if (len > spec.max_caption_bytes) {
      return Invalid(absl::StrCat("caption_bytes: caption ", i, " has ", len,
                                  " bytes, limit ", spec.max_caption_bytes));
    }
  }
  if (t.episodes_size() > T * n) {
    return Invalid(absl::StrCat("episodes: ", t.episodes_size(),
                                " episodes cannot end in ", T * n, " steps"));
  }
  for (const v1::EpisodeStats& e : t.episodes()) {
    if (!std::isfinite(e.episode_return()) || e.length() < 1) {
      return Invalid("episodes: non-finite return or length below 1");
    }
  }
  if (t.has_timing()) {
    const v1::ActorTiming& m = t.timing();
    for (double v : {m.wall_s(), m.env_s(), m.inference_s(), m.transport_s()}) {
      // A day per unroll is far beyond any real one; anything above would
      // swamp the learner's time shares.
      if (!std::isfinite(v) || v < 0 || v > 86400) {
        return Invalid("timing: seconds must be finite, in [0, 86400]");
      }
    }
  }
  if (t.policy_version() < 0) {
    return Invalid(
        absl::StrCat("policy_version: ", t.policy_version(), " is negative"));
  }
  return absl::OkStatus();
}

void PackCaptions(const std::vector<std::string>& captions, v1::Trajectory* t) {
  std::vector<int32_t> offsets;
  offsets.reserve(captions.size() + 1);
  std::string* bytes = t->mutable_caption_bytes();
  bytes->clear();
  offsets.push_back(0);
  for (const std::string& c : captions) {
    bytes->append(c);
    offsets.push_back(int32_t(bytes->size()));
  }
  const std::vector<int64_t> shape = {int64_t(offsets.size())};
  common::EncodeTensor<int32_t>(shape, offsets.data(),
                                t->mutable_caption_offsets());
}

std::string_view CaptionAt(const v1::Trajectory& t, int64_t i) {
  const int32_t* offsets = common::TensorData<int32_t>(t.caption_offsets());
  return std::string_view(t.caption_bytes())
      .substr(size_t(offsets[i]), size_t(offsets[i + 1] - offsets[i]));
}

std::string RejectionKind(const absl::Status& status) {
  const std::string_view m(status.message().data(), status.message().size());
  const size_t colon = m.find(':');
  std::string field(m.substr(0, colon == std::string_view::npos ? 0 : colon));
  if (field.empty() || field.size() > 40) return "other";
  return field;
}

}  // namespace lantern::learner
