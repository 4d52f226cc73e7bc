#include "common/bounded_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace lantern::common {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

constexpr milliseconds kNoWait{0};
// Long enough that a test only finishes in time if something wakes the
// waiter; a correct run never waits for it.
constexpr milliseconds kForever{60000};

TEST(BoundedQueueTest, PopsInPushOrder) {
  BoundedQueue<int> q(4);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(q.Push(i).ok());
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.Pop(kNoWait), 1);
  EXPECT_EQ(q.Pop(kNoWait), 2);
  ASSERT_TRUE(q.Push(4).ok());
  EXPECT_EQ(q.Pop(kNoWait), 3);
  EXPECT_EQ(q.Pop(kNoWait), 4);
  EXPECT_EQ(q.size(), 0u);
}

TEST(BoundedQueueTest, WorksWithMoveOnlyItems) {
  BoundedQueue<std::unique_ptr<int>> q(2);
  ASSERT_TRUE(q.Push(std::make_unique<int>(7)).ok());
  std::optional<std::unique_ptr<int>> item = q.Pop(kNoWait);
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(**item, 7);
}

TEST(BoundedQueueTest, TryPushRefusesWhenFullAndKeepsItem) {
  BoundedQueue<std::unique_ptr<int>> q(1);
  EXPECT_EQ(q.capacity(), 1u);
  auto first = std::make_unique<int>(1);
  ASSERT_TRUE(q.TryPush(first).ok());
  EXPECT_EQ(first, nullptr);  // moved in

  auto second = std::make_unique<int>(2);
  EXPECT_EQ(q.TryPush(second).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_NE(second, nullptr);  // untouched
  EXPECT_EQ(*second, 2);

  EXPECT_EQ(**q.Pop(kNoWait), 1);
  EXPECT_TRUE(q.TryPush(second).ok());
}

TEST(BoundedQueueTest, PopTimesOutOnEmptyQueue) {
  BoundedQueue<int> q(1);
  EXPECT_EQ(q.Pop(kNoWait), std::nullopt);
  EXPECT_EQ(q.Pop(milliseconds(5)), std::nullopt);
}

TEST(BoundedQueueTest, PopWaitsForPushFromAnotherThread) {
  BoundedQueue<int> q(1);
  std::jthread producer([&] { ASSERT_TRUE(q.Push(42).ok()); });
  EXPECT_EQ(q.Pop(kForever), 42);
}

TEST(BoundedQueueTest, PopBatchTakesAtMostMax) {
  BoundedQueue<int> q(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.Push(i).ok());
  EXPECT_THAT(q.PopBatch(2, 3, kForever), ElementsAre(0, 1, 2));
  EXPECT_THAT(q.PopBatch(1, 3, kForever), ElementsAre(3, 4));
  EXPECT_EQ(q.size(), 0u);
}

TEST(BoundedQueueTest, PopBatchReturnsFewerThanMinOnTimeout) {
  BoundedQueue<int> q(8);
  ASSERT_TRUE(q.Push(1).ok());
  ASSERT_TRUE(q.Push(2).ok());
  EXPECT_THAT(q.PopBatch(3, 5, milliseconds(5)), ElementsAre(1, 2));
  EXPECT_TRUE(q.PopBatch(1, 5, milliseconds(5)).empty());
}

TEST(BoundedQueueTest, PopBatchWaitsUntilMinArrives) {
  BoundedQueue<int> q(8);
  ASSERT_TRUE(q.Push(0).ok());
  std::jthread producer([&] {
    for (int i = 1; i < 4; ++i) ASSERT_TRUE(q.Push(i).ok());
  });
  std::vector<int> got = q.PopBatch(4, 4, kForever);
  producer.join();
  // A wake-up may come when the first items are in; with min 4 and a long
  // timeout it returns only once all four are there.
  EXPECT_THAT(got, ElementsAre(0, 1, 2, 3));
}

TEST(BoundedQueueTest, PopBatchMakesRoomForBlockedPush) {
  BoundedQueue<int> q(2);
  ASSERT_TRUE(q.Push(1).ok());
  ASSERT_TRUE(q.Push(2).ok());
  std::latch started(1);
  std::future<absl::Status> pushed = std::async(std::launch::async, [&] {
    started.count_down();
    return q.Push(3);  // blocks until there is room
  });
  started.wait();
  EXPECT_THAT(q.PopBatch(1, 2, kForever), ElementsAre(1, 2));
  EXPECT_TRUE(pushed.get().ok());
  EXPECT_EQ(q.Pop(kNoWait), 3);
}

TEST(BoundedQueueTest, CloseWakesBlockedPush) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(1).ok());
  std::latch started(1);
  std::future<absl::Status> pushed = std::async(std::launch::async, [&] {
    started.count_down();
    return q.Push(2);  // the queue is full: blocks until Close
  });
  started.wait();
  q.Close();
  EXPECT_EQ(pushed.get().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Pop(kNoWait), 1);  // the refused item was never queued
  EXPECT_EQ(q.Pop(kNoWait), std::nullopt);
}

TEST(BoundedQueueTest, CloseWakesBlockedPop) {
  BoundedQueue<int> q(1);
  std::latch started(1);
  const auto t0 = std::chrono::steady_clock::now();
  std::future<std::optional<int>> popped = std::async(std::launch::async, [&] {
    started.count_down();
    return q.Pop(kForever);
  });
  started.wait();
  q.Close();
  EXPECT_EQ(popped.get(), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kForever / 2);
}

TEST(BoundedQueueTest, CloseWakesBlockedPopBatch) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(1).ok());
  std::latch started(1);
  const auto t0 = std::chrono::steady_clock::now();
  std::future<std::vector<int>> popped = std::async(std::launch::async, [&] {
    started.count_down();
    return q.PopBatch(3, 3, kForever);
  });
  started.wait();
  q.Close();
  EXPECT_THAT(popped.get(), ElementsAre(1));  // what was there
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kForever / 2);
}

TEST(BoundedQueueTest, DrainsAfterCloseThenReportsEmpty) {
  BoundedQueue<int> q(4);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.Push(i).ok());
  q.Close();
  q.Close();  // idempotent
  EXPECT_TRUE(q.closed());
  EXPECT_EQ(q.Push(9).code(), absl::StatusCode::kFailedPrecondition);
  int item = 9;
  EXPECT_EQ(q.TryPush(item).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Pop(kForever), 0);
  EXPECT_THAT(q.PopBatch(5, 5, kForever), ElementsAre(1, 2));
  EXPECT_EQ(q.Pop(kForever), std::nullopt);
  EXPECT_TRUE(q.PopBatch(1, 5, kForever).empty());
}

TEST(BoundedQueueTest, ManyProducersAndConsumersLoseNothing) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 500;
  BoundedQueue<int> q(8);
  std::vector<int> seen(kProducers * kPerProducer, 0);
  std::mutex seen_mu;
  std::latch consumed(kProducers * kPerProducer);
  std::vector<std::jthread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&] {
      while (true) {
        std::vector<int> batch = q.PopBatch(1, 3, kForever);
        if (batch.empty()) return;  // closed and drained
        std::lock_guard lock(seen_mu);
        for (int v : batch) {
          ++seen[v];
          consumed.count_down();
        }
      }
    });
  }
  {
    std::vector<std::jthread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kPerProducer; ++i) {
          ASSERT_TRUE(q.Push(p * kPerProducer + i).ok());
        }
      });
    }
  }
  consumed.wait();
  q.Close();
  consumers.clear();
  for (int v = 0; v < kProducers * kPerProducer; ++v) {
    ASSERT_EQ(seen[v], 1) << v;
  }
}

}  // namespace
}  // namespace lantern::common
