#pragma once

#include <cstdint>

namespace lantern::actor {

// The seed of episode `episode` of an env built with `seed`: the splitmix64
// finaliser spreads both, so neighbouring seeds or episodes give unrelated
// episodes. Every environment family derives its episodes this way.
inline uint64_t EpisodeSeed(uint64_t seed, uint64_t episode) {
  const auto mix = [](uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  return mix(seed + mix(episode));
}

}  // namespace lantern::actor
