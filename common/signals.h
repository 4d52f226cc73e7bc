#pragma once

#include <atomic>

namespace lantern::common {

// Sets the returned flag on SIGINT or SIGTERM (a second signal exits at once,
// for a process that does not stop). Call once from main().
const std::atomic<bool>& InstallStopHandler();

}  // namespace lantern::common
