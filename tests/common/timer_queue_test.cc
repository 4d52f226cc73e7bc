#include "common/timer_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

namespace lantern::common {
namespace {

using std::chrono::milliseconds;

TEST(TimerQueueTest, RunsCallbacksInTimeOrderNotInOrderAdded) {
  TimerQueue timer;
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> last;
  // Far enough out that the three are added before the first is due.
  const auto now = TimerQueue::Clock::now() + milliseconds(1000);
  timer.At(now + milliseconds(60), [&] {
    std::lock_guard lock(mu);
    order.push_back(3);
    last.set_value();
  });
  timer.At(now + milliseconds(40), [&] {
    std::lock_guard lock(mu);
    order.push_back(2);
  });
  // Added last, due first: wakes the thread from its wait for the others.
  timer.At(now + milliseconds(20), [&] {
    std::lock_guard lock(mu);
    order.push_back(1);
  });
  ASSERT_EQ(last.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueueTest, NeverRunsACallbackEarly) {
  TimerQueue timer;
  std::promise<TimerQueue::Clock::time_point> ran;
  const auto due = TimerQueue::Clock::now() + milliseconds(50);
  timer.At(due, [&] { ran.set_value(TimerQueue::Clock::now()); });
  std::future<TimerQueue::Clock::time_point> f = ran.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_GE(f.get(), due);
}

TEST(TimerQueueTest, DestroyingDropsWhatIsNotDue) {
  std::atomic<int> runs{0};
  {
    TimerQueue timer;
    timer.At(TimerQueue::Clock::now() + std::chrono::hours(1),
             [&] { runs.fetch_add(1); });
  }  // returns at once, without waiting an hour
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace lantern::common
