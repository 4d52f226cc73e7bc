// Seeded generators of NetHack-like captions for the reward-model tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace lantern::reward_model::testing {

inline const std::vector<std::string> kMonsters = {
    "newt",       "jackal",       "grid bug", "sewer rat",  "kobold",
    "gnome lord", "hill orc",     "fox",      "giant bat",  "homunculus",
    "hobbit",     "large kobold", "coyote",   "gecko",      "acid blob",
    "dwarf",      "hill giant",   "imp",      "werejackal", "floating eye"};
inline const std::vector<std::string> kItems = {"food ration",
                                                "rusty dagger",
                                                "scroll labeled FOOBIE BLETCH",
                                                "blue potion",
                                                "pair of leather gloves",
                                                "wand",
                                                "tin",
                                                "orcish helm",
                                                "small shield",
                                                "lichen corpse",
                                                "crossbow bolt",
                                                "flint stone"};
inline const std::vector<std::string> kKeys = {"skeleton key", "lock pick",
                                               "credit card", "key"};

// Picks from `options` and fills {m} (monster), {i} (item), {k} (key) and
// {n} (a number) in the template.
class CaptionMaker {
 public:
  explicit CaptionMaker(uint64_t seed) : rng_(seed) {}

  std::string Make(const std::vector<std::string>& templates) {
    std::string out = Pick(templates);
    Fill(out, "{m}", [&] { return Pick(kMonsters); });
    Fill(out, "{i}", [&] { return Pick(kItems); });
    Fill(out, "{k}", [&] { return Pick(kKeys); });
    Fill(out, "{n}", [&] {
      return std::to_string(std::uniform_int_distribution<int>(2, 400)(rng_));
    });
    return out;
  }

  // `count` distinct captions from `templates` (fewer if they run out).
  std::vector<std::string> MakeDistinct(
      const std::vector<std::string>& templates, size_t count) {
    std::set<std::string> seen;
    std::vector<std::string> out;
    for (size_t tries = 0; out.size() < count && tries < 50 * count; ++tries) {
      std::string c = Make(templates);
      if (seen.insert(c).second) out.push_back(std::move(c));
    }
    return out;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  const std::string& Pick(const std::vector<std::string>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  template <typename F>
  void Fill(std::string& s, const std::string& slot, F value) {
    for (size_t at = s.find(slot); at != std::string::npos;
         at = s.find(slot, at)) {
      const std::string v = value();
      s.replace(at, slot.size(), v);
      at += v.size();
    }
  }

  std::mt19937_64 rng_;
};

// ONI's notion of helpful: progress (keys, doors, stairs, gold, kills).
inline const std::vector<std::string> kHelpfulTemplates = {
    "You kill the {m}!",
    "You destroy the {m}!",
    "You kill the {m}! Welcome to experience level {n}.",
    "{n} gold pieces.",
    "You see here {n} gold pieces.",
    "You hear someone counting money.",
    "You see here a {k}.",
    "You unlock the door with your {k}.",
    "You succeed in picking the lock.",
    "The door opens.",
    "You find a hidden door.",
    "You find a hidden passage.",
    "There is a staircase down here.",
    "There is a staircase down here. You see here a {i}.",
    "You climb down the stairs.",
};

// Walls, hunger, noises, misses and other distractions.
inline const std::vector<std::string> kUnhelpfulTemplates = {
    "It's a wall.",
    "It's solid stone.",
    "You are beginning to feel hungry.",
    "You are beginning to feel weak.",
    "You hear some noises in the distance.",
    "You hear the splashing of a naiad.",
    "You hear bubbling water.",
    "The {m} misses!",
    "You miss the {m}.",
    "The {m} bites!",
    "You see no objects here.",
    "You see here a {i}.",
    "Really attack the {m}?",
    "You stop. Your little dog is in the way.",
    "Unknown command '{n}'.",
    "This door is locked.",
};

// Six groups in increasing order of progress, for the ranking tests.
inline const std::vector<std::vector<std::string>> kRankedGroups = {
    {"It's a wall.", "It's solid stone.", "You hear bubbling water.",
     "You hear some noises in the distance.", "Unknown command '{n}'."},
    {"The {m} misses!", "You miss the {m}.", "The {m} bites!"},
    {"You see here a {i}.", "You see here {n} {i}s."},
    {"{n} gold pieces.", "You see here {n} gold pieces."},
    {"You kill the {m}!", "You destroy the {m}!"},
    {"There is a staircase down here.", "You climb down the stairs.",
     "There is a staircase down here. You see here a {i}."},
};

}  // namespace lantern::reward_model::testing
