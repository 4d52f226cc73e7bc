#include "common/timer_queue.h"

namespace lantern::common {

TimerQueue::TimerQueue()
    : thread_([this](std::stop_token stop) { Loop(stop); }) {}

TimerQueue::~TimerQueue() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void TimerQueue::At(Clock::time_point when, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  const bool earliest = due_.empty() || when < due_.begin()->first;
  due_.emplace(when, std::move(fn));
  if (earliest) cv_.notify_all();
}

void TimerQueue::Loop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (due_.empty()) {
      cv_.wait(lock, stop, [&] { return !due_.empty(); });
      continue;
    }
    const Clock::time_point next = due_.begin()->first;
    if (Clock::now() < next) {
      // Wakes early when an earlier callback is added.
      cv_.wait_until(lock, stop, next, [&] {
        return due_.empty() || due_.begin()->first < next;
      });
      continue;
    }
    std::function<void()> fn = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace lantern::common
