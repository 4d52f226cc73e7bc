#pragma once

#include <string>
#include <vector>

namespace lantern::cli {

// `lantern status TARGET [--config PATH]`: asks a running learner or reward
// server for its live state and prints {"role": ..., "status": {...}} as
// JSON. TARGET is host:port, or a run directory (its learner.addr, else
// reward.addr). TLS and the token come from the config's security keys:
// `config_path` if given, else the run directory's config.yaml, else none.
// Returns 0, or 1 with a message on stderr if nothing answers in 3 s.
int PrintStatus(const std::string& target, const std::string& config_path,
                const std::vector<std::string>& sets);

}  // namespace lantern::cli
