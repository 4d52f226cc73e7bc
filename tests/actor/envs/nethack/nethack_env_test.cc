// The real game (Debian's nethack-console) behind NethackEnv.
#include "actor/envs/nethack/nethack_env.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace lantern::actor::nethack {
namespace {

constexpr int kSearch = 17;
constexpr int kPray = 25;
constexpr int kRead = 27;

struct Observation {
  std::vector<uint8_t> chars;
  std::vector<float> stats;
  std::vector<uint8_t> message;
};

Observation Observe(const NethackEnv& env) {
  const ObsSpec spec = env.Spec();
  Observation o{std::vector<uint8_t>(size_t(spec.crop * spec.crop)),
                std::vector<float>(size_t(spec.num_stats)),
                std::vector<uint8_t>(size_t(spec.message_len))};
  env.Observe({o.chars.data(), o.stats.data(), o.message.data()});
  return o;
}

std::string ScreenText(const NethackEnv& env) {
  const auto& chars = env.screen().chars();
  const auto& colours = env.screen().colours();
  std::string text(chars.begin(), chars.end());
  text.append(colours.begin(), colours.end());
  text += std::to_string(env.screen().cursor_row()) + "," +
          std::to_string(env.screen().cursor_col());
  return text;
}

// xorshift64: the same action sequence for every env it drives.
int NextAction(uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return int((state >> 33) % NethackEnv::kNumActions);
}

TEST(NethackEnvTest, StartsStepsAndParsesTheStatusLines) {
  NethackEnv env(NethackOptions{}, 1);
  EXPECT_NE(env.Caption().find("welcome to NetHack!"), std::string::npos)
      << env.Caption();
  EXPECT_EQ(env.status().depth, 1);
  EXPECT_EQ(env.status().time, 1);
  EXPECT_EQ(env.status().level, 1);
  EXPECT_GT(env.status().hp, 0);
  EXPECT_EQ(env.status().hp, env.status().max_hp);
  EXPECT_GE(env.status().strength, 3);
  EXPECT_EQ(env.screen().Row(23).substr(0, 7), "Dlvl:1 ");

  Observation o = Observe(env);
  const int crop = env.Spec().crop;
  EXPECT_EQ(o.chars[size_t(crop * crop / 2)], '@');  // the hero, centred
  EXPECT_FLOAT_EQ(o.stats[6], 0.1f);                 // depth 1 / 10
  EXPECT_FLOAT_EQ(o.stats[8], 1.0f);                 // full HP
  EXPECT_EQ(std::string(o.message.begin(),
                        o.message.begin() + long(env.Caption().size())),
            env.Caption());

  // Searching takes a turn and prints nothing.
  const StepResult r = env.Step(kSearch);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(env.status().time, 2);
  EXPECT_EQ(env.Caption(), "");
  o = Observe(env);
  EXPECT_EQ(o.message[0], 0);
}

TEST(NethackEnvTest, AnswersTheQuestionsAnActionAsks) {
  NethackEnv env(NethackOptions{}, 1);
  env.Step(kRead);  // a Valkyrie has nothing to read
  EXPECT_EQ(env.Caption(), "You don't have anything to read.");
  env.Step(kPray);  // "Are you sure you want to pray? [yn]" gets 'y'
  EXPECT_NE(env.Caption().find("Are you sure you want to pray? [yn] (n) You "
                               "begin praying to Odin."),
            std::string::npos)
      << env.Caption();
  // An unexpected question gets ESC: the game waits for a command again.
  EXPECT_GE(env.screen().cursor_row(), 1);
}

TEST(NethackEnvTest, DeathEndsTheEpisodeAndAFreshGameFollows) {
  NethackEnv env(NethackOptions{}, 1);
  // Praying again and again angers Odin, who kills the hero.
  StepResult r;
  for (int i = 0; i < 200 && !r.done; ++i) r = env.Step(kPray);
  ASSERT_TRUE(r.done);
  EXPECT_FALSE(r.success);
  EXPECT_NE(env.Caption().find("You died in The Dungeons of Doom"),
            std::string::npos)
      << env.Caption();
  const pid_t dead = env.game_pid();
  env.Reset();
  EXPECT_NE(env.game_pid(), dead);
  EXPECT_EQ(env.status().time, 1);
  EXPECT_FALSE(env.Step(kSearch).done);
}

TEST(NethackEnvTest, QuitEndsTheEpisodeAndAFreshGameFollows) {
  NethackEnv env(NethackOptions{}, 2);
  StepResult r = env.StepKeys("#quit\r");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(env.Caption(), "Really quit? [yn] (n)");
  r = env.StepKeys("y");
  ASSERT_TRUE(r.done);
  EXPECT_NE(env.Caption().find("You quit in The Dungeons of Doom"),
            std::string::npos)
      << env.Caption();
  EXPECT_TRUE(env.Step(kSearch).done);  // nothing happens until Reset()
  env.Reset();
  EXPECT_EQ(env.status().time, 1);
  EXPECT_FALSE(env.Step(kSearch).done);
}

TEST(NethackEnvTest, EndsAtTheStepLimit) {
  NethackOptions options;
  options.max_steps = 3;
  NethackEnv env(options, 1);
  EXPECT_FALSE(env.Step(kSearch).done);
  EXPECT_FALSE(env.Step(kSearch).done);
  const StepResult r = env.Step(kSearch);
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.success);
  env.Reset();
  EXPECT_FALSE(env.Step(kSearch).done);
}

// 1,000 random steps (resets included) with two envs of one seed give the
// same screens, colours and cursor at every step; another seed does not.
TEST(NethackEnvTest, TheSameSeedReplaysTheSameScreens) {
  NethackEnv a(NethackOptions{}, 42);
  NethackEnv b(NethackOptions{}, 42);
  NethackEnv c(NethackOptions{}, 43);
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  int different_from_c = 0;
  int episodes = 0;
  for (int i = 0; i < 1000; ++i) {
    const int action = NextAction(rng);
    const StepResult ra = a.Step(action);
    const StepResult rb = b.Step(action);
    const StepResult rc = c.Step(action);
    ASSERT_EQ(ScreenText(a), ScreenText(b)) << "step " << i;
    ASSERT_EQ(a.Caption(), b.Caption()) << "step " << i;
    ASSERT_EQ(ra.done, rb.done) << "step " << i;
    ASSERT_LE(a.Caption().size(), size_t(kMaxCaptionBytes));
    different_from_c += ScreenText(a) != ScreenText(c);
    if (ra.done) {
      a.Reset();
      b.Reset();
      ++episodes;
    }
    if (rc.done) c.Reset();
  }
  EXPECT_GT(different_from_c, 900);
  EXPECT_EQ(a.wedges() + b.wedges() + c.wedges(), 0);
  std::printf("episodes in 1000 steps: %d\n", episodes);
}

// Prepare() (the actor starts every env's action before collecting them)
// changes nothing in what the game does.
TEST(NethackEnvTest, PreparedStepsReplayPlainSteps) {
  NethackEnv plain(NethackOptions{}, 5);
  NethackEnv prepared(NethackOptions{}, 5);
  uint64_t rng = 11;
  for (int i = 0; i < 500; ++i) {
    const int action = NextAction(rng);
    const StepResult a = plain.Step(action);
    prepared.Prepare(action);
    const StepResult b = prepared.Step(action);
    ASSERT_EQ(ScreenText(plain), ScreenText(prepared)) << "step " << i;
    ASSERT_EQ(plain.Caption(), prepared.Caption()) << "step " << i;
    ASSERT_EQ(a.done, b.done);
    ASSERT_EQ(a.reward, b.reward);
    if (a.done) {
      plain.Reset();
      prepared.Reset();
    }
  }
  // Step() must follow Prepare() with the same action.
  prepared.Prepare(kSearch);
  EXPECT_THROW(prepared.Step(kRead), std::logic_error);
}

TEST(NethackEnvTest, ProcCompletionWorksWithoutTheShim) {
  NethackOptions options;
  options.completion = Completion::kProc;
  NethackEnv env(options, 1);
  EXPECT_EQ(env.status().time, 1);
  uint64_t rng = 7;
  for (int i = 0; i < 200; ++i) {
    if (env.Step(NextAction(rng)).done) env.Reset();
  }
  EXPECT_EQ(env.wedges(), 0);
  EXPECT_GE(env.status().time, 1);
}

TEST(NethackEnvTest, BadOptionsAreNamed) {
  NethackOptions o;
  o.task = "dense";
  o.crop = 8;
  o.character = "wizard-orc";
  const std::string why = NethackEnv::Validate(o);
  EXPECT_NE(why.find("task 'dense'"), std::string::npos) << why;
  EXPECT_NE(why.find("crop 8"), std::string::npos) << why;
  EXPECT_NE(why.find("character 'wizard-orc'"), std::string::npos) << why;
  EXPECT_THROW(NethackEnv(o, 1), std::invalid_argument);

  NethackOptions missing;
  missing.binary = "/nonexistent/nethack";
  try {
    NethackEnv env(missing, 1);
    FAIL() << "started without a binary";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/nethack"),
              std::string::npos);
  }
}

TEST(NethackEnvTest, AGameThatDoesNotStartIsAClearError) {
  // A "game" that exits at once, beside an (empty) nhdat.
  char pattern[] = "/tmp/lantern-fake-nethack-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  std::filesystem::permissions(dir, std::filesystem::perms(0755));
  { std::ofstream(dir / "nhdat"); }
  {
    std::ofstream script(dir / "nethack");
    script << "#!/bin/sh\necho 'no such game'\nexit 1\n";
  }
  std::filesystem::permissions(dir / "nethack", std::filesystem::perms(0755));
  NethackOptions o;
  o.binary = (dir / "nethack").string();
  try {
    NethackEnv env(o, 1);
    FAIL() << "a game that exits started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nethack did not start (the game "
                                         "exited"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("no such game"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(NethackEnvTest, ThePlaygroundGoesWithTheEnv) {
  std::string dir;
  {
    NethackEnv env(NethackOptions{}, 1);
    dir = env.playground_dir();
    EXPECT_TRUE(std::filesystem::exists(dir + "/nhdat"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/nethackrc"));
    EXPECT_EQ(kill(env.game_pid(), 0), 0);
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace lantern::actor::nethack
