#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace lantern::common {

// Runs callbacks at a later time on one thread of its own, in time order.
// For reactors, which must never block: instead of sleeping, a callback
// asks to be called again later. Callbacks run without the queue's lock
// and must not block for long. Thread-safe.
class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;

  TimerQueue();
  // Drops the callbacks not yet run.
  ~TimerQueue();

  // Runs `fn` once, at `when` or as soon after as the thread gets to it.
  void At(Clock::time_point when, std::function<void()> fn);

 private:
  void Loop(std::stop_token stop);

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::multimap<Clock::time_point, std::function<void()>> due_;
  std::jthread thread_;  // last: starts after the members above exist
};

}  // namespace lantern::common
