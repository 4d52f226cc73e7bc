#include "reward_server/store/label_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/reward_server/store/store_test_util.h"

namespace lantern::reward {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

std::vector<bool> AddOrDie(LabelStore& store, std::vector<Query> queries,
                           absl::Time now = kT0) {
  absl::StatusOr<std::vector<bool>> added = store.AddPending(queries, now);
  EXPECT_TRUE(added.ok()) << added.status();
  return added.ok() ? *added : std::vector<bool>();
}

std::map<std::string, QueryState> StatesByFirst(LabelStore& store) {
  std::map<std::string, QueryState> out;
  for (const StoredQuery& q : QueriesOf(store)) {
    out[q.query.first + (q.query.second ? "|" + *q.query.second : "")] =
        q.state;
  }
  return out;
}

TEST_F(StoreTest, DedupsSinglesAndPairsByExactKey) {
  auto store = OpenOrDie();
  EXPECT_EQ(AddOrDie(*store,
                     {Single("a"), Pair("a", "b"), Pair("a", ""),
                      Pair("b", "a"), Single("a"), Pair("a", "b"), Single("")}),
            (std::vector<bool>{true, true, true, true, false, false, true}));
  EXPECT_EQ(AddOrDie(*store, {Pair("a", ""), Single("a"), Single("b")}),
            (std::vector<bool>{false, false, true}));
  EXPECT_EQ(QueriesOf(*store).size(), 6u);
}

TEST_F(StoreTest, BinaryCaptionsWithNulsAreDistinctAndExact) {
  auto store = OpenOrDie();
  const std::string a0b("a\0b", 3), a0c("a\0c", 3), a0("a\0", 2);
  const std::string bytes("\xff\x00\x01\n\x00", 5);
  EXPECT_EQ(AddOrDie(*store, {Single(a0b), Single(a0c), Single("a"), Single(a0),
                              Pair(a0, bytes), Pair(a0, a0)}),
            (std::vector<bool>(6, true)));
  EXPECT_EQ(AddOrDie(*store, {Single(a0b), Pair(a0, bytes)}),
            (std::vector<bool>{false, false}));
  std::vector<Query> loaded;
  for (const StoredQuery& q : QueriesOf(*store)) loaded.push_back(q.query);
  EXPECT_EQ(loaded,
            (std::vector<Query>{Single(a0b), Single(a0c), Single("a"),
                                Single(a0), Pair(a0, bytes), Pair(a0, a0)}));
  LabelRecord label = MakeLabel(Pair(a0, bytes), Label::kTie, bytes);
  ASSERT_TRUE(store->PutLabels({&label, 1}).ok());
  std::vector<LabelRecord> labels = LabelsOf(*store);
  ASSERT_EQ(labels.size(), 1u);
  ExpectSameLabel(labels[0], label);
}

TEST_F(StoreTest, StatesAndCounts) {
  auto store = OpenOrDie();
  AddOrDie(*store, {Single("p"), Single("h"), Single("u"), Single("g"),
                    Single("d"), Pair("x", "y"), Pair("y", "x")});
  std::vector<LabelRecord> labels = {MakeLabel(Single("h"), Label::kHelpful),
                                     MakeLabel(Single("u"), Label::kUnhelpful),
                                     MakeLabel(Pair("x", "y"), Label::kFirst),
                                     MakeLabel(Pair("y", "x"), Label::kFirst)};
  ASSERT_TRUE(store->PutLabels(labels).ok());
  ASSERT_TRUE(store->MarkGivenUp(std::vector<Query>{Single("g")}).ok());
  ASSERT_TRUE(store->MarkDropped(std::vector<Query>{Single("d")}).ok());

  LabelStoreCounts counts = *store->Counts();
  EXPECT_EQ(counts.pending, 1);
  EXPECT_EQ(counts.labelled, 4);
  EXPECT_EQ(counts.given_up, 1);
  EXPECT_EQ(counts.dropped, 1);
  EXPECT_EQ(counts.per_label, (std::map<Label, int64_t>{{Label::kHelpful, 1},
                                                        {Label::kUnhelpful, 1},
                                                        {Label::kFirst, 2}}));
  EXPECT_EQ(StatesByFirst(*store), (std::map<std::string, QueryState>{
                                       {"p", QueryState::kPending},
                                       {"h", QueryState::kLabelled},
                                       {"u", QueryState::kLabelled},
                                       {"g", QueryState::kGivenUp},
                                       {"d", QueryState::kDropped},
                                       {"x|y", QueryState::kLabelled},
                                       {"y|x", QueryState::kLabelled}}));
  EXPECT_EQ(QueryStateName(QueryState::kGivenUp), "given_up");
}

TEST_F(StoreTest, KnownQueriesAreUnchangedWhateverTheirState) {
  auto store = OpenOrDie();
  AddOrDie(*store, {Single("l"), Single("g"), Single("d"), Single("p")});
  LabelRecord label = MakeLabel(Single("l"), Label::kHelpful);
  ASSERT_TRUE(store->PutLabels({&label, 1}).ok());
  ASSERT_TRUE(store->MarkGivenUp(std::vector<Query>{Single("g")}).ok());
  ASSERT_TRUE(store->MarkDropped(std::vector<Query>{Single("d")}).ok());
  const auto before = StatesByFirst(*store);
  EXPECT_EQ(
      AddOrDie(*store, {Single("l"), Single("g"), Single("d"), Single("p")},
               kT0 + absl::Hours(1)),
      (std::vector<bool>(4, false)));
  EXPECT_EQ(StatesByFirst(*store), before);
  for (const StoredQuery& q : QueriesOf(*store)) EXPECT_EQ(q.arrived, kT0);
  // Labelled and given-up queries are final; a dropped one may be given up.
  ASSERT_TRUE(
      store->MarkDropped(std::vector<Query>{Single("l"), Single("g")}).ok());
  ASSERT_TRUE(
      store->MarkGivenUp(std::vector<Query>{Single("l"), Single("d")}).ok());
  auto after = StatesByFirst(*store);
  EXPECT_EQ(after["l"], QueryState::kLabelled);
  EXPECT_EQ(after["g"], QueryState::kGivenUp);
  EXPECT_EQ(after["d"], QueryState::kGivenUp);
  // A label that arrives late (its annotation was under way) is kept.
  LabelRecord late = MakeLabel(Single("d"), Label::kUnhelpful);
  ASSERT_TRUE(store->PutLabels({&late, 1}).ok());
  EXPECT_EQ(StatesByFirst(*store)["d"], QueryState::kLabelled);
}

TEST_F(StoreTest, LoadsQueriesOldestFirst) {
  auto store = OpenOrDie();
  AddOrDie(*store, {Single("c")}, kT0 + absl::Seconds(3));
  AddOrDie(*store, {Single("a"), Single("b")}, kT0 + absl::Seconds(1));
  AddOrDie(*store, {Single("d")}, kT0 + absl::Seconds(2));
  std::vector<std::string> order;
  for (const StoredQuery& q : QueriesOf(*store)) {
    order.push_back(q.query.first);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "d", "c"}));
}

TEST_F(StoreTest, ReopenKeepsEverything) {
  std::vector<LabelRecord> labels = {
      MakeLabel(Single("one"), Label::kHelpful, "Yes.", 0.75),
      MakeLabel(Pair("two", "three"), Label::kSecond, "", -1.5)};
  labels[1].annotator = "embedding";
  labels[1].annotation.prompt_version = "";
  labels[1].labelled_at = kT0 + absl::Microseconds(123456789);
  std::vector<StoredQuery> queries_before;
  {
    auto store = OpenOrDie();
    AddOrDie(
        *store,
        {Single("one"), Pair("two", "three"), Single("four"), Single("five")},
        kT0 + absl::Microseconds(7));
    ASSERT_TRUE(store->PutLabels(labels).ok());
    ASSERT_TRUE(store->MarkDropped(std::vector<Query>{Single("five")}).ok());
    queries_before = QueriesOf(*store);
  }
  auto store = OpenOrDie();
  std::vector<StoredQuery> queries = QueriesOf(*store);
  ASSERT_EQ(queries.size(), queries_before.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(queries[i].query, queries_before[i].query);
    EXPECT_EQ(queries[i].state, queries_before[i].state);
    EXPECT_EQ(queries[i].arrived, kT0 + absl::Microseconds(7));
  }
  std::vector<LabelRecord> loaded = LabelsOf(*store);
  ASSERT_EQ(loaded.size(), 2u);
  ExpectSameLabel(loaded[0], labels[0]);
  ExpectSameLabel(loaded[1], labels[1]);
  EXPECT_TRUE(store->CheckIntegrity().ok());
}

TEST_F(StoreTest, LabellingTwiceIsRefusedAndChangesNothing) {
  auto store = OpenOrDie();
  AddOrDie(*store, {Single("a"), Single("b")});
  LabelRecord first = MakeLabel(Single("a"), Label::kHelpful, "first");
  ASSERT_TRUE(store->PutLabels({&first, 1}).ok());

  std::vector<LabelRecord> batch = {MakeLabel(Single("b"), Label::kHelpful),
                                    MakeLabel(Single("a"), Label::kUnhelpful)};
  absl::Status s = store->PutLabels(batch);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_NE(s.message().find(path_), std::string::npos) << s;
  // Twice within one batch is refused the same way.
  batch = {MakeLabel(Single("b"), Label::kHelpful),
           MakeLabel(Single("b"), Label::kUnhelpful)};
  EXPECT_EQ(store->PutLabels(batch).code(), absl::StatusCode::kAlreadyExists);

  std::vector<LabelRecord> labels = LabelsOf(*store);
  ASSERT_EQ(labels.size(), 1u);
  ExpectSameLabel(labels[0], first);
  EXPECT_EQ(StatesByFirst(*store)["b"], QueryState::kPending);
}

TEST_F(StoreTest, RefusesUnknownQueriesAndLabelsOfTheWrongKind) {
  auto store = OpenOrDie();
  AddOrDie(*store, {Single("a"), Pair("a", "b")});
  std::vector<LabelRecord> unknown = {MakeLabel(Single("a"), Label::kHelpful),
                                      MakeLabel(Single("zz"), Label::kHelpful)};
  EXPECT_EQ(store->PutLabels(unknown).code(), absl::StatusCode::kNotFound);
  for (Label bad : {Label::kUnknown, Label::kFirst, Label::kTie}) {
    LabelRecord r = MakeLabel(Single("a"), bad);
    EXPECT_EQ(store->PutLabels({&r, 1}).code(),
              absl::StatusCode::kInvalidArgument);
  }
  for (Label bad : {Label::kUnknown, Label::kHelpful, Label::kUnhelpful}) {
    LabelRecord r = MakeLabel(Pair("a", "b"), bad);
    EXPECT_EQ(store->PutLabels({&r, 1}).code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(
      store->MarkDropped(std::vector<Query>{Single("a"), Single("zz")}).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(store->MarkGivenUp(std::vector<Query>{Pair("b", "a")}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(LabelsOf(*store).empty());
  EXPECT_EQ(store->Counts()->pending, 2);
}

TEST_F(StoreTest, ThreadsWriteConcurrently) {
  auto store = OpenOrDie();
  constexpr int kThreads = 4, kPerThread = 40;
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Query q = Single(absl::StrCat("t", t, "-", i));
        ASSERT_TRUE(store->AddPending({&q, 1}, kT0).ok());
        LabelRecord r = MakeLabel(q, Label::kHelpful);
        ASSERT_TRUE(store->PutLabels({&r, 1}).ok());
      }
    });
  }
  threads.clear();  // joins
  LabelStoreCounts counts = *store->Counts();
  EXPECT_EQ(counts.labelled, kThreads * kPerThread);
  EXPECT_EQ(counts.pending, 0);
}

// Not a check: prints what a commit costs on this disk, since the server
// writes in small batches. FULL fsyncs the WAL on every commit.
TEST_F(StoreTest, MeasuresCommitCost) {
  for (bool full : {true, false}) {
    std::unique_ptr<LabelStore> store = OpenOrDie({.synchronous_full = full});
    for (int batch : {1, 64}) {
      constexpr int kCalls = 30;
      std::vector<std::vector<LabelRecord>> batches(kCalls);
      for (int c = 0; c < kCalls; ++c) {
        std::vector<Query> queries;
        for (int i = 0; i < batch; ++i) {
          queries.push_back(Single(absl::StrCat(full, "-", batch, "-", c, "-",
                                                i, std::string(80, 'x'))));
          batches[c].push_back(MakeLabel(queries.back(), Label::kHelpful,
                                         std::string(200, 'r')));
        }
        AddOrDie(*store, queries);
      }
      const auto start = std::chrono::steady_clock::now();
      for (const auto& labels : batches) {
        ASSERT_TRUE(store->PutLabels(labels).ok());
      }
      const double ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - start)
                            .count() /
                        kCalls;
      std::printf("PutLabels synchronous=%s batch=%d: %.3f ms per call\n",
                  full ? "FULL" : "NORMAL", batch, ms);
      RecordProperty(
          absl::StrCat(full ? "full" : "normal", "_batch", batch, "_us"),
          int(ms * 1000));
    }
    store.reset();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-wal");
    std::filesystem::remove(path_ + "-shm");
  }
}

}  // namespace
}  // namespace lantern::reward
