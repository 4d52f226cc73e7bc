#include "actor/envs/grid/grid_env.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lantern::actor {
namespace {

struct Frame {
  std::vector<uint8_t> chars;
  std::vector<float> stats;
  std::vector<uint8_t> message;
  bool operator==(const Frame&) const = default;
};

Frame Observe(const GridEnv& env) {
  const ObsSpec spec = env.Spec();
  Frame f{std::vector<uint8_t>(spec.crop * spec.crop),
          std::vector<float>(spec.num_stats),
          std::vector<uint8_t>(spec.message_len)};
  env.Observe(ObsView{f.chars.data(), f.stats.data(), f.message.data()});
  return f;
}

std::string Chars(const Frame& f) {
  return std::string(f.chars.begin(), f.chars.end());
}

std::string Message(const Frame& f) {
  return std::string(f.message.begin(), f.message.end());
}

bool Contains(const Frame& f, char c) {
  return std::find(f.chars.begin(), f.chars.end(), c) != f.chars.end();
}

// Options whose crop shows the whole map from any agent position, so a test
// can plan on the observation alone. Distractors are off.
GridOptions FullView(int width = 8, int height = 6,
                     std::string layout = "key_door") {
  GridOptions o;
  o.width = width;
  o.height = height;
  o.crop = 2 * (std::max(width, height) + 1) + 1;
  o.max_steps = 1000;
  o.layout = std::move(layout);
  o.distractor_prob = 0.0;
  return o;
}

// BFS over the crop from the agent (its centre) to the nearest `target`,
// walking on floor and open doors only; returns the first action, or -1.
int NextAction(const Frame& f, int crop, char target) {
  constexpr int kDx[4] = {0, 1, 0, -1};
  constexpr int kDy[4] = {-1, 0, 1, 0};
  const int centre = (crop / 2) * crop + crop / 2;
  std::vector<int> first(crop * crop, -1);
  std::queue<int> frontier;
  frontier.push(centre);
  first[centre] = 0;  // Visited.
  while (!frontier.empty()) {
    const int cell = frontier.front();
    frontier.pop();
    for (int a = 0; a < 4; ++a) {
      const int x = cell % crop + kDx[a];
      const int y = cell / crop + kDy[a];
      if (x < 0 || y < 0 || x >= crop || y >= crop) continue;
      const int next = y * crop + x;
      if (first[next] != -1) continue;
      const int action = cell == centre ? a : first[cell];
      const char c = static_cast<char>(f.chars[next]);
      if (c == target) return action;
      if (c != '.' && c != GridEnv::kOpenDoor) continue;
      first[next] = action;
      frontier.push(next);
    }
  }
  return -1;
}

struct Transcript {
  std::vector<std::string> captions;  // one per step
  std::vector<float> rewards;
  std::vector<int> actions;
  StepResult last;  // not done when the planner found no path
};

// Scripted solver: key, then door, then stairs, planned on a full crop.
Transcript Solve(GridEnv& env) {
  Transcript t;
  const int crop = env.Spec().crop;
  for (int i = 0; i < 10000 && !t.last.done; ++i) {
    const Frame f = Observe(env);
    const char target = Contains(f, '(') ? '(' : Contains(f, '+') ? '+' : '>';
    const int action = NextAction(f, crop, target);
    if (action < 0) break;
    t.last = env.Step(action);
    t.actions.push_back(action);
    t.captions.emplace_back(env.Caption());
    t.rewards.push_back(t.last.reward);
  }
  return t;
}

TEST(GridEnvTest, SameSeedGivesSameTrajectory) {
  GridOptions o;
  o.distractor_prob = 0.3;
  o.max_steps = 50;
  GridEnv a(o, 42);
  GridEnv b(o, 42);
  std::mt19937 actions(7);
  int episodes = 0;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(Observe(a), Observe(b)) << "step " << i;
    ASSERT_EQ(a.Caption(), b.Caption()) << "step " << i;
    const int action = static_cast<int>(actions() % 5);
    const StepResult ra = a.Step(action);
    const StepResult rb = b.Step(action);
    ASSERT_EQ(ra.reward, rb.reward);
    ASSERT_EQ(ra.done, rb.done);
    ASSERT_EQ(ra.success, rb.success);
    if (ra.done) {
      a.Reset();
      b.Reset();
      ++episodes;
    }
  }
  EXPECT_GT(episodes, 50);
}

TEST(GridEnvTest, DifferentSeedsAndEpisodesGiveDifferentLayouts) {
  std::set<std::string> layouts;  // Crops as strings.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    GridEnv env(FullView(), seed);
    layouts.insert(Chars(Observe(env)));
  }
  EXPECT_EQ(layouts.size(), 20u);
  GridEnv env(FullView(), 3);
  std::set<std::string> episodes;
  for (int i = 0; i < 20; ++i, env.Reset()) {
    episodes.insert(Chars(Observe(env)));
  }
  EXPECT_EQ(episodes.size(), 20u);
}

TEST(GridEnvTest, LayoutDependsOnlyOnSeedAndResetCount) {
  GridOptions o = FullView();
  o.distractor_prob = 0.5;
  GridEnv stepped(o, 9);
  GridEnv idle(o, 9);
  for (int i = 0; i < 30; ++i) stepped.Step(i % 5);
  stepped.Reset();
  idle.Reset();
  EXPECT_EQ(Observe(stepped).chars, Observe(idle).chars);
  EXPECT_EQ(stepped.Caption(), idle.Caption());
}

TEST(GridEnvTest, KeyDoorStairsCaptionsAndDenseRewards) {
  for (uint64_t seed = 0; seed < 10; ++seed) {
    GridEnv env(FullView(), seed);
    // A full crop shows everything at once, in the documented order.
    EXPECT_EQ(env.Caption(),
              "You see a key. You see a door. You see a staircase.");
    const Transcript t = Solve(env);
    ASSERT_TRUE(t.last.success);
    std::vector<std::string> said;
    std::vector<float> paid;
    for (size_t i = 0; i < t.captions.size(); ++i) {
      if (!t.captions[i].empty()) said.push_back(t.captions[i]);
      if (t.rewards[i] != 0.0f) paid.push_back(t.rewards[i]);
    }
    EXPECT_EQ(said, (std::vector<std::string>{"You pick up the key.",
                                              "You unlock the door.",
                                              "You climb down the stairs."}));
    EXPECT_EQ(paid, (std::vector<float>{0.25f, 0.25f, 1.0f}));
    EXPECT_EQ(t.rewards.back(), 1.0f);
    const Frame last = Observe(env);
    EXPECT_EQ(last.stats[0], 1.0f);  // has_key
    EXPECT_EQ(last.stats[1], 1.0f);  // door_open
  }
}

TEST(GridEnvTest, SparseRewardsOnlyAtStairs) {
  GridOptions o = FullView();
  o.dense = false;
  GridEnv env(o, 5);
  const Transcript t = Solve(env);
  ASSERT_TRUE(t.last.success);
  for (size_t i = 0; i + 1 < t.rewards.size(); ++i) EXPECT_EQ(t.rewards[i], 0);
  EXPECT_EQ(t.rewards.back(), 1.0f);
}

TEST(GridEnvTest, LockedDoorWithoutKey) {
  int tested = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    GridEnv env(FullView(), seed);
    const int crop = env.Spec().crop;
    // Some layouts put the key in front of the door; skip those.
    if (NextAction(Observe(env), crop, '+') < 0) continue;
    ++tested;
    bool bumped = false;
    for (int i = 0; i < 100 && !bumped; ++i) {
      const int action = NextAction(Observe(env), crop, '+');
      ASSERT_GE(action, 0);
      const Frame before = Observe(env);
      const StepResult r = env.Step(action);
      if (env.Caption().empty()) continue;
      bumped = true;
      EXPECT_EQ(env.Caption(), "The door is locked.");
      EXPECT_EQ(r.reward, 0.0f);
      EXPECT_FALSE(r.done);
      EXPECT_EQ(Observe(env).chars, before.chars);  // The agent stayed.
      EXPECT_EQ(Observe(env).stats[1], 0.0f);       // door_open
    }
    EXPECT_TRUE(bumped) << "seed " << seed;
  }
  EXPECT_GT(tested, 5);
}

TEST(GridEnvTest, MaxStepsEndsWithoutSuccess) {
  GridOptions o = FullView();
  o.max_steps = 5;
  GridEnv env(o, 1);
  EXPECT_EQ(env.NumActions(), 5);
  EXPECT_EQ(env.Spec().num_stats, 5);
  for (int i = 1; i <= 4; ++i) EXPECT_FALSE(env.Step(4).done) << i;
  const StepResult r = env.Step(4);
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reward, 0.0f);
  EXPECT_EQ(Observe(env).stats[4], 1.0f);
  EXPECT_TRUE(env.Step(1).done);  // Stepping past the end changes nothing.
  EXPECT_EQ(Observe(env).stats[4], 1.0f);
}

TEST(GridEnvTest, CropIsCentredOnAgentAndPaddedWithSpaces) {
  const int w = 4, h = 3;
  GridOptions full = FullView(w, h, "open");
  GridOptions small = full;
  small.crop = 3;
  GridEnv big(full, 11);
  GridEnv little(small, 11);
  const int c = full.crop, r = c / 2;
  ASSERT_EQ(little.Spec().crop, 3);
  ASSERT_EQ(big.Spec().crop, c);
  std::mt19937 actions(3);
  for (int step = 0; step < 200; ++step) {
    const Frame f = Observe(big);
    ASSERT_EQ(f.chars[r * c + r], '@');
    EXPECT_EQ(std::count(f.chars.begin(), f.chars.end(), '@'), 1);
    EXPECT_EQ(std::count(f.chars.begin(), f.chars.end(), ' '),
              c * c - (w + 2) * (h + 2));
    // The map's top-left corner, found from the agent's stats position.
    const int ax = 1 + static_cast<int>(f.stats[2] * (w - 1) + 0.5f);
    const int ay = 1 + static_cast<int>(f.stats[3] * (h - 1) + 0.5f);
    const int left = r - ax, top = r - ay;
    const std::string map = Chars(f);
    const std::string wall(w + 2, '-');
    EXPECT_EQ(map.substr(top * c + left, w + 2), wall);
    EXPECT_EQ(map.substr((top + h + 1) * c + left, w + 2), wall);
    for (int y = 1; y <= h; ++y) {
      EXPECT_EQ(map[(top + y) * c + left], '|');
      EXPECT_EQ(map[(top + y) * c + left + w + 1], '|');
    }
    // The small crop is the centre of the big one.
    std::string centre;
    for (int y = r - 1; y <= r + 1; ++y) centre += map.substr(y * c + r - 1, 3);
    EXPECT_EQ(Chars(Observe(little)), centre);
    const int action = static_cast<int>(actions() % 5);
    if (big.Step(action).done) {
      big.Reset();
      little.Reset();
    } else {
      little.Step(action);
    }
  }
}

TEST(GridEnvTest, MessageIsZeroPaddedAndTruncated) {
  GridOptions o = FullView();
  o.message_len = 8;
  GridEnv short_env(o, 2);
  EXPECT_EQ(Message(Observe(short_env)), "You see ");
  o.message_len = 100;
  GridEnv long_env(o, 2);
  const std::string caption =
      "You see a key. You see a door. You see a staircase.";
  ASSERT_EQ(long_env.Caption(), caption);
  EXPECT_EQ(Message(Observe(long_env)),
            caption + std::string(100 - caption.size(), '\0'));
  long_env.Step(4);  // Nothing new happens: empty caption, all zeros.
  EXPECT_EQ(long_env.Caption(), "");
  EXPECT_EQ(Message(Observe(long_env)), std::string(100, '\0'));
}

TEST(GridEnvTest, DistractorsFillOnlyQuietSteps) {
  const std::set<std::string> noises = {"You hear a bird.", "The floor creaks.",
                                        "You hear some noises in the distance.",
                                        "You hear the splashing of a naiad.",
                                        "You hear a door open."};
  GridOptions o = FullView();
  o.distractor_prob = 1.0;
  GridEnv noisy(o, 4);
  const Transcript t = Solve(noisy);
  ASSERT_TRUE(t.last.success);
  std::set<std::string> heard;
  for (size_t i = 0; i < t.captions.size(); ++i) {
    ASSERT_FALSE(t.captions[i].empty());
    if (t.rewards[i] == 0.0f) {
      EXPECT_EQ(noises.count(t.captions[i]), 1u) << t.captions[i];
      heard.insert(t.captions[i]);
    } else {
      EXPECT_EQ(noises.count(t.captions[i]), 0u) << t.captions[i];
    }
  }
  EXPECT_GE(heard.size(), 2u);
}

TEST(GridEnvTest, SightsAreAnnouncedOnceAfterTheEvent) {
  // Layouts do not depend on the crop: a full-view env plans, a crop-3 env
  // with the same seed follows the same actions.
  std::set<std::string, std::less<>> combined;  // Event plus sights.
  for (uint64_t seed = 0; seed < 60; ++seed) {
    GridOptions o = FullView();
    GridEnv planner(o, seed);
    o.crop = 3;
    GridEnv env(o, seed);
    std::vector<std::string> sentences;
    auto split = [&sentences](std::string_view caption) {
      for (size_t start = 0; start < caption.size();) {
        size_t end = caption.find(". ", start);
        end = end == std::string_view::npos ? caption.size() : end + 1;
        sentences.emplace_back(caption.substr(start, end - start));
        start = end + 1;
      }
    };
    split(env.Caption());
    const Transcript t = Solve(planner);
    ASSERT_TRUE(t.last.success);
    for (size_t i = 0; i < t.actions.size(); ++i) {
      env.Step(t.actions[i]);
      // The event sentence comes first, any sights after it.
      const std::string_view caption = env.Caption();
      const std::string& event = t.captions[i];
      ASSERT_EQ(caption.substr(0, event.size()), event);
      if (!event.empty() && caption.size() > event.size()) {
        combined.emplace(caption);
      }
      split(caption);
    }
    for (const char* sight :
         {"You see a key.", "You see a door.", "You see a staircase."}) {
      EXPECT_EQ(std::count(sentences.begin(), sentences.end(), sight), 1)
          << sight << " seed " << seed;
    }
  }
  EXPECT_EQ(combined.count("You pick up the key. You see a door."), 1u);
}

TEST(GridEnvTest, ScriptedSolverSucceedsOnRandomLayouts) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    for (const char* layout : {"key_door", "open"}) {
      GridOptions o = FullView(5 + seed % 8, 2 + seed % 7, layout);
      GridEnv env(o, seed);
      for (int episode = 0; episode < 2; ++episode, env.Reset()) {
        const Transcript t = Solve(env);
        ASSERT_TRUE(t.last.success) << layout << " seed " << seed;
        float total = 0;
        for (const float r : t.rewards) total += r;
        EXPECT_FLOAT_EQ(total, std::string(layout) == "open" ? 1.0f : 1.5f);
      }
    }
  }
}

TEST(GridEnvTest, InvalidOptionsAndActionsThrow) {
  const std::vector<std::pair<void (*)(GridOptions&), std::string>> cases = {
      {[](GridOptions& o) { o.width = 4; }, "width"},
      {[](GridOptions& o) { o.height = 1; }, "height"},
      {[](GridOptions& o) { o.width = 1000; }, "width"},
      {[](GridOptions& o) { o.crop = 8; }, "crop"},
      {[](GridOptions& o) { o.crop = 0; }, "crop"},
      {[](GridOptions& o) { o.message_len = 0; }, "message_len"},
      {[](GridOptions& o) { o.max_steps = 0; }, "max_steps"},
      {[](GridOptions& o) { o.layout = "maze"; }, "layout"},
      {[](GridOptions& o) { o.distractor_prob = 1.5; }, "distractor_prob"},
      {[](GridOptions& o) { o.distractor_prob = -0.1; }, "distractor_prob"},
      {[](GridOptions& o) { o.distractor_prob = std::nan(""); }, "distractor"},
  };
  for (const auto& [mutate, field] : cases) {
    GridOptions o;
    mutate(o);
    try {
      GridEnv env(o, 0);
      ADD_FAILURE() << "no throw for " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos)
          << e.what();
    }
  }
  GridOptions open;
  open.layout = "open";
  open.width = 2;
  open.height = 2;
  EXPECT_NO_THROW(GridEnv(open, 0));
  open.layout = "key_door";  // Too narrow for two rooms and a wall.
  EXPECT_THROW(GridEnv(open, 0), std::invalid_argument);
  GridEnv env(GridOptions{}, 0);
  EXPECT_THROW(env.Step(5), std::out_of_range);
  EXPECT_THROW(env.Step(-1), std::out_of_range);
}

}  // namespace
}  // namespace lantern::actor
