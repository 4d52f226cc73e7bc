#include "learner/trajectory_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "tests/learner/test_trajectories.h"

namespace lantern::learner {
namespace {

using test::MakeTrajectory;
using test::MutableObservation;
using test::SetElement;
using test::TestSpec;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Expects INVALID_ARGUMENT whose message starts with `field` and whose
// rejection kind is that field.
void ExpectRejected(const v1::Trajectory& t, const TrajectorySpec& spec,
                    const std::string& field, const std::string& detail = "") {
  const absl::Status st = ValidateTrajectory(t, spec);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_THAT(std::string(st.message()), StartsWith(field + ":"));
  EXPECT_THAT(std::string(st.message()), HasSubstr(detail));
  EXPECT_EQ(RejectionKind(st), field);
}

TEST(ValidateTrajectoryTest, AcceptsValidTrajectory) {
  const TrajectorySpec spec = TestSpec();
  EXPECT_TRUE(ValidateTrajectory(MakeTrajectory(spec), spec).ok());
}

TEST(ValidateTrajectoryTest, AcceptsValidTrajectoryWithRecurrentState) {
  const TrajectorySpec spec = TestSpec(/*state_size=*/8);
  const v1::Trajectory t = MakeTrajectory(spec);
  EXPECT_EQ(t.initial_state().data().size(), 3u * 8u * sizeof(float));
  EXPECT_TRUE(ValidateTrajectory(t, spec).ok());
}

TEST(ValidateTrajectoryTest, AcceptsOneEnvAndNoEpisodes) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec, 1, 0, /*num_envs=*/1);
  t.clear_episodes();
  EXPECT_TRUE(ValidateTrajectory(t, spec).ok());
}

TEST(ValidateTrajectoryTest, RejectsMissingObservationPart) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.mutable_observations()->RemoveLast();  // "message"
  ExpectRejected(t, spec, "observations", "need chars, stats and message");
}

TEST(ValidateTrajectoryTest, RejectsUnknownObservationPart) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.mutable_observations(1)->set_name("pixels");
  ExpectRejected(t, spec, "observations", "unknown part 'pixels'");
}

TEST(ValidateTrajectoryTest, RejectsDuplicateObservationPart) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  *t.add_observations() = t.observations(0);
  ExpectRejected(t, spec, "observations", "'chars' twice");
}

TEST(ValidateTrajectoryTest, RejectsWrongDtype) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  *t.mutable_actions() = test::Encode<int64_t>(
      {test::kUnroll, test::kNumEnvs},
      std::vector<int64_t>(test::kUnroll * test::kNumEnvs, 0));
  ExpectRejected(t, spec, "actions", "DTYPE_INT64, expected DTYPE_INT32");
}

TEST(ValidateTrajectoryTest, RejectsUnknownDtype) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.mutable_rewards()->set_dtype(static_cast<v1::DType>(42));
  ExpectRejected(t, spec, "rewards", "unknown dtype 42");
}

// Each tensor in turn gets one more element in its last dimension than the
// spec and the other tensors say; the error names that tensor.
struct TensorCase {
  std::string field;
  std::function<v1::Tensor*(v1::Trajectory&)> get;
};

class ShapeMismatchTest : public ::testing::TestWithParam<TensorCase> {};

TEST_P(ShapeMismatchTest, NamesTheTensor) {
  const TrajectorySpec spec = TestSpec(/*state_size=*/8);
  v1::Trajectory t = MakeTrajectory(spec);
  v1::Tensor* tensor = GetParam().get(t);
  ASSERT_NE(tensor, nullptr);
  const int last = tensor->shape_size() - 1;
  tensor->set_shape(last, tensor->shape(last) + 1);
  ExpectRejected(t, spec, GetParam().field, "expected [");
}

TEST_P(ShapeMismatchTest, MissingDimensionNamesTheTensor) {
  const TrajectorySpec spec = TestSpec(/*state_size=*/8);
  v1::Trajectory t = MakeTrajectory(spec);
  v1::Tensor* tensor = GetParam().get(t);
  tensor->mutable_shape()->RemoveLast();
  ExpectRejected(t, spec, GetParam().field, "shape [");
}

TEST_P(ShapeMismatchTest, DataSizeMismatchNamesTheTensor) {
  const TrajectorySpec spec = TestSpec(/*state_size=*/8);
  v1::Trajectory t = MakeTrajectory(spec);
  GetParam().get(t)->mutable_data()->push_back('\0');
  ExpectRejected(t, spec, GetParam().field, "data bytes do not match");
}

TEST_P(ShapeMismatchTest, MissingTensorNamesIt) {
  const TrajectorySpec spec = TestSpec(/*state_size=*/8);
  v1::Trajectory t = MakeTrajectory(spec);
  GetParam().get(t)->Clear();
  ExpectRejected(t, spec, GetParam().field);
}

INSTANTIATE_TEST_SUITE_P(
    EveryTensor, ShapeMismatchTest,
    ::testing::Values(
        TensorCase{
            "observations.chars",
            [](v1::Trajectory& t) { return MutableObservation(t, "chars"); }},
        TensorCase{
            "observations.stats",
            [](v1::Trajectory& t) { return MutableObservation(t, "stats"); }},
        TensorCase{
            "observations.message",
            [](v1::Trajectory& t) { return MutableObservation(t, "message"); }},
        TensorCase{"actions",
                   [](v1::Trajectory& t) { return t.mutable_actions(); }},
        TensorCase{
            "behaviour_logits",
            [](v1::Trajectory& t) { return t.mutable_behaviour_logits(); }},
        TensorCase{"rewards",
                   [](v1::Trajectory& t) { return t.mutable_rewards(); }},
        TensorCase{"dones",
                   [](v1::Trajectory& t) { return t.mutable_dones(); }},
        TensorCase{
            "caption_counts",
            [](v1::Trajectory& t) { return t.mutable_caption_counts(); }},
        TensorCase{
            "initial_state",
            [](v1::Trajectory& t) { return t.mutable_initial_state(); }}),
    [](const ::testing::TestParamInfo<TensorCase>& info) {
      std::string name = info.param.field;
      for (char& c : name) {
        if (c == '.') c = '_';
      }
      return name;
    });

TEST(ValidateTrajectoryTest, RejectsTensorsForFewerEnvsThanEnvIds) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.add_env_ids(3);  // four ids, tensors for three envs
  ExpectRejected(t, spec, "observations.chars", "expected [5,4,5,5]");
}

// Each float tensor in turn gets a NaN and an infinity.
struct FloatCase {
  std::string field;
  std::function<v1::Tensor*(v1::Trajectory&)> get;
};

class NonFiniteTest : public ::testing::TestWithParam<FloatCase> {};

TEST_P(NonFiniteTest, RejectsNaNAndInf) {
  const TrajectorySpec spec = TestSpec(/*state_size=*/8);
  for (float bad : {kNaN, kInf, -kInf}) {
    v1::Trajectory t = MakeTrajectory(spec);
    SetElement<float>(GetParam().get(t), 2, bad);
    ExpectRejected(t, spec, GetParam().field, "non-finite value at element 2");
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryFloatTensor, NonFiniteTest,
    ::testing::Values(
        FloatCase{
            "observations.stats",
            [](v1::Trajectory& t) { return MutableObservation(t, "stats"); }},
        FloatCase{
            "behaviour_logits",
            [](v1::Trajectory& t) { return t.mutable_behaviour_logits(); }},
        FloatCase{"rewards",
                  [](v1::Trajectory& t) { return t.mutable_rewards(); }},
        FloatCase{"initial_state",
                  [](v1::Trajectory& t) { return t.mutable_initial_state(); }}),
    [](const ::testing::TestParamInfo<FloatCase>& info) {
      std::string name = info.param.field;
      for (char& c : name) {
        if (c == '.') c = '_';
      }
      return name;
    });

TEST(ValidateTrajectoryTest, RejectsActionOutOfRange) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  SetElement<int32_t>(t.mutable_actions(), 4, 5);  // 5 actions: 0..4
  ExpectRejected(t, spec, "actions", "value 5 at element 4");
  t = MakeTrajectory(spec);
  SetElement<int32_t>(t.mutable_actions(), 11, -1);
  ExpectRejected(t, spec, "actions", "value -1 at element 11");
}

TEST(ValidateTrajectoryTest, RejectsDoneThatIsNotZeroOrOne) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  SetElement<uint8_t>(t.mutable_dones(), 3, 2);
  ExpectRejected(t, spec, "dones", "value 2 at element 3");
}

TEST(ValidateTrajectoryTest, CaptionsRoundTripThroughPacking) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  std::vector<std::string> captions(12);
  captions[0] = "You see a key.";
  captions[11] = "You climb down the stairs.";
  PackCaptions(captions, &t);
  ASSERT_TRUE(ValidateTrajectory(t, spec).ok());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(CaptionAt(t, i), captions[i]) << i;
}

TEST(ValidateTrajectoryTest, RejectsCaptionCountOtherThanTTimesN) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  PackCaptions(std::vector<std::string>(11, "x"), &t);
  ExpectRejected(t, spec, "caption_offsets", "shape [12], expected [13]");
  PackCaptions(std::vector<std::string>(13, "x"), &t);
  ExpectRejected(t, spec, "caption_offsets", "shape [14], expected [13]");
}

TEST(ValidateTrajectoryTest, RejectsOffsetsThatDoNotFitTheBytes) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.mutable_caption_bytes()->pop_back();
  ExpectRejected(t, spec, "caption_offsets", "must run from 0");
  t = MakeTrajectory(spec);
  SetElement<int32_t>(t.mutable_caption_offsets(), 0, 1);
  ExpectRejected(t, spec, "caption_offsets", "must run from 0");
  t = MakeTrajectory(spec);
  SetElement<int32_t>(t.mutable_caption_offsets(), 5, 1000);
  ExpectRejected(t, spec, "caption_offsets", "decreasing at element 6");
}

TEST(ValidateTrajectoryTest, RejectsCaptionTooLong) {
  TrajectorySpec spec = TestSpec();
  spec.max_caption_bytes = 10;
  v1::Trajectory t = MakeTrajectory(spec);
  std::vector<std::string> captions(12, "short");
  captions[5] = std::string(10, 'x');  // at the limit: fine
  PackCaptions(captions, &t);
  EXPECT_TRUE(ValidateTrajectory(t, spec).ok());
  captions[5] = std::string(11, 'x');
  PackCaptions(captions, &t);
  ExpectRejected(t, spec, "caption_bytes", "caption 5 has 11 bytes, limit 10");
}

TEST(ValidateTrajectoryTest, RejectsCaptionCountBelowOne) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  SetElement<int32_t>(t.mutable_caption_counts(), 7, 0);
  ExpectRejected(t, spec, "caption_counts", "value 0 at element 7");
}

TEST(ValidateTrajectoryTest, RejectsMoreEpisodesThanSteps) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  while (t.episodes_size() < 12) *t.add_episodes() = t.episodes(0);
  EXPECT_TRUE(ValidateTrajectory(t, spec).ok());  // T*N = 12 is possible
  *t.add_episodes() = t.episodes(0);
  ExpectRejected(t, spec, "episodes", "13 episodes cannot end in 12 steps");
}

TEST(ValidateTrajectoryTest, RejectsNonFiniteEpisodeReturn) {
  const TrajectorySpec spec = TestSpec();
  for (float bad : {kNaN, kInf}) {
    v1::Trajectory t = MakeTrajectory(spec);
    t.mutable_episodes(0)->set_episode_return(bad);
    ExpectRejected(t, spec, "episodes", "non-finite return");
  }
}

TEST(ValidateTrajectoryTest, RejectsEpisodeLengthBelowOne) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.mutable_episodes(0)->set_length(0);
  ExpectRejected(t, spec, "episodes", "length below 1");
}

TEST(ValidateTrajectoryTest, RejectsNegativePolicyVersion) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.set_policy_version(-1);
  ExpectRejected(t, spec, "policy_version", "-1 is negative");
}

TEST(ValidateTrajectoryTest, TimingMustBeFiniteNonNegativeSeconds) {
  const TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  t.mutable_timing()->set_wall_s(0.5);
  t.mutable_timing()->set_env_s(0.3);
  EXPECT_TRUE(ValidateTrajectory(t, spec).ok());
  for (double bad : {double(kNaN), double(kInf), -0.1, 1e6}) {
    v1::Trajectory u = t;
    u.mutable_timing()->set_transport_s(bad);
    ExpectRejected(u, spec, "timing", "finite");
  }
}

TEST(ValidateTrajectoryTest, RejectsOversizedTrajectory) {
  TrajectorySpec spec = TestSpec();
  const v1::Trajectory t = MakeTrajectory(spec);
  spec.max_bytes = int64_t(t.ByteSizeLong());
  EXPECT_TRUE(ValidateTrajectory(t, spec).ok());  // exactly at the limit
  spec.max_bytes -= 1;
  ExpectRejected(t, spec, "size", "over the limit");
}

TEST(ValidateTrajectoryTest, RejectsTooManyOrNoEnvs) {
  TrajectorySpec spec = TestSpec();
  v1::Trajectory t = MakeTrajectory(spec);
  spec.max_envs = 2;
  ExpectRejected(t, spec, "env_ids", "3 envs, expected 1..2");
  spec.max_envs = 3;
  EXPECT_TRUE(ValidateTrajectory(t, spec).ok());
  t.clear_env_ids();
  ExpectRejected(t, spec, "env_ids", "0 envs");
}

TEST(RejectionKindTest, IsTheFieldBeforeTheColon) {
  EXPECT_EQ(RejectionKind(absl::InvalidArgumentError("dones: value 2")),
            "dones");
  EXPECT_EQ(RejectionKind(absl::InvalidArgumentError(
                "observations.chars: shape [1], expected [2]")),
            "observations.chars");
  EXPECT_EQ(RejectionKind(absl::InvalidArgumentError("no colon here")),
            "other");
  EXPECT_EQ(RejectionKind(absl::InvalidArgumentError(
                std::string(41, 'x') + ": too long to be a field")),
            "other");
  EXPECT_EQ(RejectionKind(absl::InvalidArgumentError(": empty field")),
            "other");
}

}  // namespace
}  // namespace lantern::learner
