#pragma once

#include <string>

namespace lantern::cli {

// `lantern status TARGET`: asks a running learner or reward server for its
// live state and prints {"role": ..., "status": {...}} as JSON. TARGET is
// host:port, or a run directory (its learner.addr, else reward.addr).
// Returns 0, or 1 with a message on stderr if nothing answers in 3 s.
int PrintStatus(const std::string& target);

}  // namespace lantern::cli
