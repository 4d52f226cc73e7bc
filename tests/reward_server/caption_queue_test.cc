#include "reward_server/caption_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace lantern::reward {
namespace {

Query Single(std::string c) { return {.first = std::move(c)}; }
Query Pair(std::string a, std::string b) {
  return {.first = std::move(a), .second = std::move(b)};
}

TEST(CaptionQueueTest, AdmitsEachDistinctQueryOnce) {
  CaptionQueue q(100);
  std::vector<Query> fresh =
      q.AdmitNew({Single("a"), Single("b"), Single("a"), Pair("a", "b")});
  ASSERT_EQ(fresh.size(), 3u);
  EXPECT_EQ(fresh[2], Pair("a", "b"));
  q.Push(fresh);
  // Known in any state: pending, in flight, done.
  EXPECT_TRUE(q.AdmitNew({Single("a"), Pair("a", "b")}).empty());
  std::optional<Query> taken = q.Take(std::stop_token());
  q.Finish(*taken);
  EXPECT_TRUE(q.AdmitNew({*taken}).empty());
  EXPECT_EQ(q.counts().known, 3u);
}

TEST(CaptionQueueTest, KeysKeepPairsAndSinglesApart) {
  EXPECT_NE(CaptionQueue::Key(Single("ab")), CaptionQueue::Key(Pair("a", "b")));
  EXPECT_NE(CaptionQueue::Key(Pair("ab", "c")),
            CaptionQueue::Key(Pair("a", "bc")));
  EXPECT_NE(CaptionQueue::Key(Pair("a", "")), CaptionQueue::Key(Single("a")));
  EXPECT_EQ(CaptionQueue::Key(Single(std::string("a\0b", 3))),
            CaptionQueue::Key(Single(std::string("a\0b", 3))));
  EXPECT_NE(CaptionQueue::Key(Single(std::string("a\0b", 3))),
            CaptionQueue::Key(Single("a")));
}

TEST(CaptionQueueTest, ServesNewestFirstAndDropsTheOldestAtTheBound) {
  CaptionQueue q(3);
  q.Push(q.AdmitNew({Single("1"), Single("2")}));
  std::vector<Query> dropped = q.Push(q.AdmitNew({Single("3"), Single("4")}));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].first, "1");
  EXPECT_EQ(q.counts().dropped, 1u);
  EXPECT_EQ(q.Take(std::stop_token())->first, "4");
  EXPECT_EQ(q.Take(std::stop_token())->first, "3");
  EXPECT_EQ(q.counts().in_flight, 2u);
  EXPECT_EQ(q.counts().pending, 1u);
  // A dropped query is known: it is not admitted again.
  EXPECT_TRUE(q.AdmitNew({Single("1")}).empty());
}

TEST(CaptionQueueTest, RequeuedQueryIsServedAgainAndForgottenOnesReadmit) {
  CaptionQueue q(10);
  q.Push(q.AdmitNew({Single("x"), Single("y")}));
  Query y = *q.Take(std::stop_token());
  EXPECT_EQ(y.first, "y");
  q.Requeue(y);
  EXPECT_EQ(q.counts().in_flight, 0u);
  EXPECT_EQ(q.Take(std::stop_token())->first, "y");

  std::vector<Query> fresh = q.AdmitNew({Single("z")});
  q.Forget(fresh);  // could not be stored
  EXPECT_EQ(q.AdmitNew({Single("z")}).size(), 1u);
}

TEST(CaptionQueueTest, TakeWakesOnPushStopAndClose) {
  CaptionQueue q(10);
  std::optional<Query> got;
  std::thread taker([&] { got = q.Take(std::stop_token()); });
  q.Push(q.AdmitNew({Single("late")}));
  taker.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->first, "late");

  std::stop_source stop;
  std::thread stopped([&] { got = q.Take(stop.get_token()); });
  stop.request_stop();
  stopped.join();
  EXPECT_FALSE(got.has_value());

  std::thread closed([&] { got = q.Take(std::stop_token()); });
  q.Close();
  closed.join();
  EXPECT_FALSE(got.has_value());
}

}  // namespace
}  // namespace lantern::reward
