#include "common/signals.h"

#include <csignal>
#include <cstdlib>

namespace lantern::common {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int sig) {
  if (g_stop.exchange(true)) std::_Exit(128 + sig);
}

}  // namespace

const std::atomic<bool>& InstallStopHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return g_stop;
}

}  // namespace lantern::common
