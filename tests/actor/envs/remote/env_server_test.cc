// RemoteEnv against the real scripts/env_server.py (the KeyCorridor example
// and environments that fail on purpose), and the shipped remote config
// against what the server prints.
#include "testing/env_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "actor/env_factory.h"
#include "actor/envs/remote/remote_env.h"
#include "common/config.h"
#include "testing/local.h"

namespace lantern::actor::remote {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct Obs {
  std::vector<uint8_t> chars = std::vector<uint8_t>(81);
  std::vector<float> stats = std::vector<float>(4);
  std::vector<uint8_t> message = std::vector<uint8_t>(64);
};

TEST(RemoteConfigTest, ShippedConfigIsWhatTheServerPrints) {
  absl::StatusOr<common::Config> shipped = common::LoadConfig(
      std::string(LANTERN_SOURCE_DIR) + "/configs/remote_key_corridor.yaml",
      {});
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  std::string printed;
  ASSERT_EQ(testing::RunCommand(
                std::string("/usr/bin/python3 ") + LANTERN_SOURCE_DIR +
                    "/scripts/env_server.py --print-config --env " +
                    LANTERN_SOURCE_DIR + "/scripts/envs/key_corridor.py:make",
                &printed),
            0)
      << printed;
  absl::StatusOr<common::Config> served =
      common::ParseConfig(printed, "--print-config", {});
  ASSERT_TRUE(served.ok()) << served.status();
  absl::StatusOr<EnvShape> a = ShapeOf(shipped->env);
  absl::StatusOr<EnvShape> b = ShapeOf(served->env);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_EQ(a->obs.crop, b->obs.crop);
  EXPECT_EQ(a->obs.num_stats, b->obs.num_stats);
  EXPECT_EQ(a->obs.message_len, b->obs.message_len);
  EXPECT_EQ(a->num_actions, b->num_actions);
  EXPECT_EQ(shipped->env.address, served->env.address);

  EXPECT_THAT(std::string(common::ParseConfig("env:\n  kind: remote\n  "
                                              "timeout_ms: 0\n",
                                              "t.yaml", {})
                              .status()
                              .message()),
              HasSubstr("env.timeout_ms"));
}

// --- The real scripts/env_server.py ---------------------------------------

class PythonServerTest : public ::testing::Test {
 protected:
  static std::string WorkDir(const std::string& name) {
    return ::testing::TempDir() + "lantern_remote_" + name + "_" +
           std::to_string(::getpid());
  }
  static absl::StatusOr<testing::PythonEnvServer> Serve(
      const std::string& name, const std::string& env) {
    return testing::PythonEnvServer::Start(LANTERN_SOURCE_DIR, env,
                                           WorkDir(name));
  }
  static RemoteOptions KeyCorridor(const std::string& address) {
    return {.address = address,
            .obs = {.crop = 9, .num_stats = 4, .message_len = 64},
            .num_actions = 4,
            .timeout_ms = 10000,
            .connect_timeout_ms = 10000,
            .client = "test"};
  }
};

const std::string kKeyCorridor =
    std::string(LANTERN_SOURCE_DIR) + "/scripts/envs/key_corridor.py:make";
const std::string kFaulty =
    std::string(LANTERN_SOURCE_DIR) + "/tests/actor/envs/remote/faulty_envs.py";

TEST_F(PythonServerTest, KeyCorridorEpisodesAreSeededAndCaptioned) {
  absl::StatusOr<testing::PythonEnvServer> server =
      Serve("corridor", kKeyCorridor);
  ASSERT_TRUE(server.ok()) << server.status();
  // Two envs with one seed play the same episodes; another seed does not.
  std::vector<std::unique_ptr<RemoteEnv>> envs;
  for (uint64_t seed : {5, 5, 6}) {
    absl::StatusOr<std::unique_ptr<RemoteEnv>> e =
        RemoteEnv::Create(KeyCorridor(server->address()), seed);
    ASSERT_TRUE(e.ok()) << e.status();
    envs.push_back(*std::move(e));
  }
  EXPECT_EQ(envs[0]->name(), "key_corridor");
  EXPECT_EQ(envs[0]->Caption(), "You enter a small room.");
  std::vector<std::string> captions;
  bool differs = false;
  int episodes = 0;
  for (int t = 0; t < 200; ++t) {
    const int action = (t * 7 + t / 3) % 4;
    for (auto& e : envs) e->Prepare(action);
    std::vector<StepResult> r;
    for (auto& e : envs) r.push_back(e->Step(action));
    std::vector<uint8_t> chars[3];
    for (int i = 0; i < 3; ++i) {
      Obs o;
      envs[size_t(i)]->Observe(
          {o.chars.data(), o.stats.data(), o.message.data()});
      chars[i] = o.chars;
      // The message observation is the caption, zero padded.
      const std::string_view caption = envs[size_t(i)]->Caption();
      EXPECT_EQ(std::string(o.message.begin(),
                            o.message.begin() + long(caption.size())),
                caption);
    }
    EXPECT_EQ(chars[0], chars[1]) << "step " << t;
    EXPECT_EQ(envs[0]->Caption(), envs[1]->Caption());
    EXPECT_EQ(r[0].reward, r[1].reward);
    differs = differs || chars[0] != chars[2];
    captions.emplace_back(envs[0]->Caption());
    for (int i = 0; i < 3; ++i) {
      if (r[size_t(i)].done) {
        envs[size_t(i)]->Reset();
        episodes += i == 0;
      }
    }
  }
  EXPECT_TRUE(differs);
  EXPECT_GE(episodes, 3);
  EXPECT_THAT(captions, ::testing::Contains("You bump into a wall."));
}

TEST_F(PythonServerTest, PythonExceptionsReachTheActorWithTheirText) {
  absl::StatusOr<testing::PythonEnvServer> server =
      Serve("collapsing", kFaulty + ":collapsing");
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<RemoteEnv>> env =
      RemoteEnv::Create(KeyCorridor(server->address()), 1);
  ASSERT_TRUE(env.ok()) << env.status();
  (*env)->Step(0);
  (*env)->Step(0);
  try {
    (*env)->Step(0);
    ADD_FAILURE() << "no error";
  } catch (const RemoteEnvError& e) {
    EXPECT_THAT(std::string(e.what()),
                AllOf(HasSubstr(server->address()), HasSubstr("INTERNAL"),
                      HasSubstr("step(0) raised ValueError: the dungeon "
                                "collapsed (at faulty_envs.py")));
  }
}

TEST_F(PythonServerTest, ObservationsThatStopFittingAreTheServersError) {
  absl::StatusOr<testing::PythonEnvServer> server =
      Serve("wrongshape", kFaulty + ":wrong_shape");
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<RemoteEnv>> env =
      RemoteEnv::Create(KeyCorridor(server->address()), 1);
  ASSERT_TRUE(env.ok()) << env.status();
  try {
    (*env)->Step(1);
    ADD_FAILURE() << "no error";
  } catch (const RemoteEnvError& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("observation 'chars' has shape (5, 5), the spec "
                          "says (9, 9)"));
  }
}

TEST_F(PythonServerTest, KilledServerMidEpisodeIsAClearError) {
  absl::StatusOr<testing::PythonEnvServer> server =
      Serve("killed", kKeyCorridor);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<RemoteEnv>> env =
      RemoteEnv::Create(KeyCorridor(server->address()), 1);
  ASSERT_TRUE(env.ok()) << env.status();
  (*env)->Step(1);
  EXPECT_EQ(server->Stop(SIGKILL), 128 + SIGKILL);
  try {
    (*env)->Step(1);
    ADD_FAILURE() << "no error";
  } catch (const RemoteEnvError& e) {
    EXPECT_THAT(std::string(e.what()),
                AllOf(HasSubstr("remote env at " + server->address()),
                      HasSubstr("Step(session"), HasSubstr("UNAVAILABLE")));
  }
}

TEST_F(PythonServerTest, SigtermStopsTheServerCleanly) {
  absl::StatusOr<testing::PythonEnvServer> server =
      Serve("sigterm", kKeyCorridor);
  ASSERT_TRUE(server.ok()) << server.status();
  {
    absl::StatusOr<std::unique_ptr<RemoteEnv>> env =
        RemoteEnv::Create(KeyCorridor(server->address()), 1);
    ASSERT_TRUE(env.ok()) << env.status();
    (*env)->Step(1);
  }
  EXPECT_EQ(server->Stop(SIGTERM), 0);
  EXPECT_FALSE(std::filesystem::exists(server->address_file()));
}

}  // namespace
}  // namespace lantern::actor::remote
