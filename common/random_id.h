#pragma once

#include <unistd.h>

#include <cstdint>
#include <random>

namespace lantern::common {

// A random nonzero 64-bit id, new for every call: names one process's life
// (an actor's incarnation, a learner's boot) to its peers.
inline uint64_t RandomId() {
  std::random_device rd;
  const uint64_t id = (uint64_t(rd()) << 32) ^ rd() ^ uint64_t(::getpid());
  return id == 0 ? 1 : id;
}

}  // namespace lantern::common
