#include "reward_server/label_book.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

namespace lantern::reward {
namespace {

Query Single(std::string c) { return {.first = std::move(c)}; }

class LabelBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "label_book_" + std::to_string(::getpid()) +
           "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    path_ = dir_ + "/labels.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<LabelBook> Open(size_t capacity = 100) {
    absl::StatusOr<std::unique_ptr<LabelBook>> book =
        LabelBook::Open(path_, capacity, "rules");
    EXPECT_TRUE(book.ok()) << book.status();
    return book.ok() ? std::move(*book) : nullptr;
  }

  static Outcome Labelled(Query q, Label label) {
    return {.query = std::move(q),
            .result = Annotation{.label = label,
                                 .model = "m",
                                 .prompt_version = "p1",
                                 .raw_answer = "raw"},
            .latency_s = 0.01};
  }

  std::string dir_, path_;
};

TEST_F(LabelBookTest, SubmissionsAreDedupedStoredAndResumedNewestFirst) {
  {
    auto book = Open();
    absl::StatusOr<LabelBook::Submitted> s =
        book->Submit({Single("a"), Single("b"), Single("a")});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->added, 2u);
    EXPECT_EQ(s->known, 1u);
    EXPECT_EQ(book->Submit({Single("b")})->known, 1u);
  }
  auto book = Open();  // as after a crash: the pending queries are back
  const LabelBook::Stats stats = book->stats();
  EXPECT_EQ(stats.resumed, 2u);
  EXPECT_EQ(stats.queries_total, 2u);
  EXPECT_EQ(book->queue()->Take(std::stop_token())->first, "b");
  EXPECT_EQ(book->Submit({Single("a")})->known, 1u);
}

TEST_F(LabelBookTest, LabelsAreStoredBeforeTheListenerSeesThemAndSurvive) {
  {
    auto book = Open();
    std::promise<std::vector<LabelRecord>> seen;
    book->Start([&](const std::vector<LabelRecord>& labels) {
      // Stored already: a second connection reads it.
      absl::StatusOr<std::unique_ptr<LabelStore>> other =
          LabelStore::Open(path_);
      ASSERT_TRUE(other.ok()) << other.status();
      EXPECT_EQ((*other)->LoadLabels()->size(), labels.size());
      seen.set_value(labels);
    });
    ASSERT_TRUE(book->Submit({Single("You see a key.")}).ok());
    Query q = *book->queue()->Take(std::stop_token());
    book->Record(Labelled(q, Label::kHelpful));
    std::vector<LabelRecord> got = seen.get_future().get();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].annotator, "rules");
    EXPECT_EQ(book->StoredLabel("You see a key."), Label::kHelpful);
    EXPECT_EQ(book->stats().labels_total, 1u);
    EXPECT_EQ(book->stats().label_counts.at("helpful"), 1u);
  }
  auto book = Open();
  ASSERT_EQ(book->restored_labels().size(), 1u);
  const LabelRecord& r = book->restored_labels()[0];
  EXPECT_EQ(r.query.first, "You see a key.");
  EXPECT_EQ(r.annotation.model, "m");
  EXPECT_EQ(r.annotation.prompt_version, "p1");
  EXPECT_EQ(r.annotation.raw_answer, "raw");
  EXPECT_EQ(book->stats().resumed, 0u);
  EXPECT_EQ(book->StoredLabel("You see a key."), Label::kHelpful);
  EXPECT_EQ(book->Submit({Single("You see a key.")})->known, 1u);
}

TEST_F(LabelBookTest, UnknownIsGivenUpAndFailuresGoBackToPending) {
  {
    auto book = Open();
    book->Start(nullptr);
    ASSERT_TRUE(book->Submit({Single("garbled"), Single("unreachable")}).ok());
    Query first = *book->queue()->Take(std::stop_token());
    Query second = *book->queue()->Take(std::stop_token());
    ASSERT_EQ(first.first, "unreachable");
    book->Record({.query = first,
                  .result = absl::UnavailableError("connection refused")});
    book->Record({.query = second, .result = Annotation{}});  // kUnknown
    book->Stop();  // drains the writer
    const LabelBook::Stats s = book->stats();
    EXPECT_EQ(s.given_up, 1u);
    EXPECT_EQ(s.failed_attempts, 1u);
    EXPECT_EQ(s.labels_total, 0u);
    EXPECT_EQ(s.pending, 1u);
  }
  auto book = Open();
  EXPECT_EQ(book->stats().resumed, 1u);  // only the unreachable one
  EXPECT_EQ(book->queue()->Take(std::stop_token())->first, "unreachable");
  EXPECT_EQ(book->Submit({Single("garbled")})->known, 1u);
  EXPECT_FALSE(book->StoredLabel("garbled").has_value());
}

TEST_F(LabelBookTest, TheOldestPendingAreDroppedAtTheBoundDurably) {
  {
    auto book = Open(/*capacity=*/2);
    ASSERT_TRUE(book->Submit({Single("1"), Single("2"), Single("3")}).ok());
    EXPECT_EQ(book->stats().dropped, 1u);
    EXPECT_EQ(book->stats().pending, 2u);
  }
  auto book = Open(/*capacity=*/2);
  EXPECT_EQ(book->stats().resumed, 2u);
  EXPECT_EQ(book->Submit({Single("1")})->known, 1u);
  absl::StatusOr<std::unique_ptr<LabelStore>> store = LabelStore::Open(path_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Counts()->dropped, 1);
}

}  // namespace
}  // namespace lantern::reward
