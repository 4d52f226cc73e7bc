// RemoteEnv against replies with bad tensors, rewards and captions: each a
// clear error naming the server and the call, with nothing copied.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <ostream>

#include "tests/actor/envs/remote/fake_environment.h"

namespace lantern::actor::remote {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct Hostile {
  const char* name;
  std::function<void(v1::EnvStep*)> spoil;
  const char* error;
};

void PrintTo(const Hostile& h, std::ostream* os) { *os << h.name; }

class HostileReplyTest : public RemoteEnvTest,
                         public ::testing::WithParamInterface<Hostile> {};

TEST_P(HostileReplyTest, IsAClearErrorNotACrash) {
  fake_.tamper = [spoil = GetParam().spoil](int t, v1::EnvStep* r) {
    if (t == 2) spoil(r);
  };
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  env->Step(0);
  const Obs before = Read(*env);
  EXPECT_THAT(StepError(*env),
              AllOf(HasSubstr(address_), HasSubstr("Step(session s1"),
                    HasSubstr("bad reply"), HasSubstr(GetParam().error)));
  // Nothing of the bad reply was copied.
  const Obs after = Read(*env);
  EXPECT_EQ(after.chars, before.chars);
  EXPECT_EQ(after.stats, before.stats);
}

v1::Tensor* Named(v1::EnvStep* r, const std::string& name) {
  for (v1::NamedTensor& nt : *r->mutable_observations()) {
    if (nt.name() == name) return nt.mutable_tensor();
  }
  return nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Replies, HostileReplyTest,
    ::testing::Values(
        Hostile{"WrongShape",
                [](v1::EnvStep* r) {
                  Named(r, "chars")->set_shape(0, 9);
                  Named(r, "chars")->set_shape(1, 1);
                },
                "'chars': shape [9,1], expected [3,3]"},
        Hostile{"WrongDtype",
                [](v1::EnvStep* r) {
                  Named(r, "stats")->set_dtype(v1::DTYPE_INT32);
                },
                "'stats': dtype DTYPE_INT32, expected DTYPE_FLOAT32"},
        Hostile{
            "UnknownDtype",
            [](v1::EnvStep* r) { Named(r, "stats")->set_dtype(v1::DType(99)); },
            "'stats': unknown dtype 99"},
        Hostile{"MissingTensor",
                [](v1::EnvStep* r) { r->mutable_observations()->RemoveLast(); },
                "'message' is missing"},
        Hostile{
            "ExtraTensor",
            [](v1::EnvStep* r) { r->add_observations()->set_name("glyphs"); },
            "unknown observation tensor 'glyphs'"},
        Hostile{
            "DuplicateTensor",
            [](v1::EnvStep* r) { *r->add_observations() = r->observations(0); },
            "'chars' appears twice"},
        Hostile{"ShortData",
                [](v1::EnvStep* r) {
                  Named(r, "chars")->mutable_data()->resize(4);
                },
                "4 data bytes do not match shape [3,3]"},
        Hostile{"LongData",
                [](v1::EnvStep* r) {
                  Named(r, "message")->mutable_data()->append(1000, 'x');
                },
                "1016 data bytes do not match shape [16]"},
        Hostile{"NegativeShape",
                [](v1::EnvStep* r) { Named(r, "stats")->set_shape(0, -2); },
                "'stats': shape [-2], expected [2]"},
        Hostile{"NonFiniteStats",
                [](v1::EnvStep* r) {
                  const float nan = std::numeric_limits<float>::quiet_NaN();
                  Named(r, "stats")
                      ->mutable_data()
                      ->replace(4, 4, reinterpret_cast<const char*>(&nan), 4);
                },
                "non-finite value at element 1"},
        Hostile{"LongCaption",
                [](v1::EnvStep* r) { r->set_caption(std::string(2000, 'a')); },
                "caption of 2000 bytes (at most 1024)"}),
    [](const ::testing::TestParamInfo<Hostile>& info) {
      return info.param.name;
    });

TEST_F(RemoteEnvTest, NonFiniteRewardIsAnError) {
  fake_.tamper = [](int, v1::EnvStep* r) {
    r->set_reward(std::numeric_limits<float>::infinity());
  };
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  EXPECT_THAT(StepError(*env), HasSubstr("non-finite reward"));
}

}  // namespace
}  // namespace lantern::actor::remote
