#include "learner/delivery_ledger.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

namespace lantern::learner {
namespace {

// Expects exactly the seqs in `want` (checked over 0..limit) for `inc`.
void ExpectExactly(const DeliveryLedger& ledger, uint64_t inc,
                   const std::set<uint64_t>& want, uint64_t limit = 20) {
  for (uint64_t s = 0; s < limit; ++s) {
    EXPECT_EQ(ledger.Contains(inc, s), want.contains(s))
        << "incarnation " << inc << " seq " << s;
  }
}

TEST(DeliveryLedgerTest, EmptyContainsNothing) {
  DeliveryLedger ledger;
  EXPECT_FALSE(ledger.Contains(1, 0));
  EXPECT_EQ(ledger.Size(), 0u);
  EXPECT_EQ(ledger.Gaps(), 0u);
  EXPECT_EQ(ledger.Serialize(), "");
}

TEST(DeliveryLedgerTest, AddRecordsOncePerIncarnation) {
  DeliveryLedger ledger;
  EXPECT_TRUE(ledger.Add(1, 0));
  EXPECT_TRUE(ledger.Add(1, 1));
  EXPECT_FALSE(ledger.Add(1, 0));  // below the contiguous run
  EXPECT_FALSE(ledger.Add(1, 1));
  EXPECT_TRUE(ledger.Add(1, 5));
  EXPECT_FALSE(ledger.Add(1, 5));  // in the sparse set
  EXPECT_TRUE(ledger.Add(2, 0));   // incarnations are independent
  EXPECT_EQ(ledger.Size(), 4u);
  ExpectExactly(ledger, 1, {0, 1, 5});
  ExpectExactly(ledger, 2, {0});
  EXPECT_FALSE(ledger.Contains(3, 0));
}

TEST(DeliveryLedgerTest, OutOfOrderAddsFoldIntoContiguousRun) {
  DeliveryLedger ledger;
  for (uint64_t s : {3, 1, 4, 2}) ASSERT_TRUE(ledger.Add(9, s));
  EXPECT_EQ(ledger.Gaps(), 1u);  // 0 is missing
  EXPECT_EQ(ledger.Serialize(), "9 0 4 1 2 3 4\n");
  ASSERT_TRUE(ledger.Add(9, 0));
  EXPECT_EQ(ledger.Gaps(), 0u);
  // Everything folded: no sparse entries remain.
  EXPECT_EQ(ledger.Serialize(), "9 5 0\n");
  EXPECT_EQ(ledger.Size(), 5u);
  ExpectExactly(ledger, 9, {0, 1, 2, 3, 4});
}

TEST(DeliveryLedgerTest, GapsCountMissingBelowHighestPerIncarnation) {
  DeliveryLedger ledger;
  ledger.Add(1, 0);
  ledger.Add(1, 4);  // 1, 2, 3 missing
  ledger.Add(2, 2);  // 0, 1 missing
  ledger.Add(3, 0);
  ledger.Add(3, 1);  // none missing
  EXPECT_EQ(ledger.Gaps(), 5u);
}

TEST(DeliveryLedgerTest, RemoveFromSparseSet) {
  DeliveryLedger ledger;
  for (uint64_t s : {0, 1, 5, 7}) ledger.Add(1, s);
  ledger.Remove(1, 5);
  ExpectExactly(ledger, 1, {0, 1, 7});
  EXPECT_EQ(ledger.Size(), 3u);
  EXPECT_TRUE(ledger.Add(1, 5));  // can be added again
}

TEST(DeliveryLedgerTest, RemoveTopOfContiguousRun) {
  DeliveryLedger ledger;
  for (uint64_t s : {0, 1, 2, 6}) ledger.Add(1, s);
  ledger.Remove(1, 2);
  ExpectExactly(ledger, 1, {0, 1, 6});
  EXPECT_EQ(ledger.Size(), 3u);
  EXPECT_EQ(ledger.Gaps(), 4u);  // 2, 3, 4 and 5
}

TEST(DeliveryLedgerTest, RemoveInsideContiguousRunSplitsIt) {
  DeliveryLedger ledger;
  for (uint64_t s = 0; s < 6; ++s) ledger.Add(1, s);
  ledger.Remove(1, 2);
  ExpectExactly(ledger, 1, {0, 1, 3, 4, 5});
  EXPECT_EQ(ledger.Size(), 5u);
  EXPECT_EQ(ledger.Gaps(), 1u);
  // Re-adding the hole folds everything back.
  EXPECT_TRUE(ledger.Add(1, 2));
  EXPECT_EQ(ledger.Serialize(), "1 6 0\n");
  EXPECT_EQ(ledger.Size(), 6u);
}

TEST(DeliveryLedgerTest, RemoveBottomOfContiguousRun) {
  DeliveryLedger ledger;
  for (uint64_t s = 0; s < 3; ++s) ledger.Add(1, s);
  ledger.Remove(1, 0);
  ExpectExactly(ledger, 1, {1, 2});
  EXPECT_EQ(ledger.Size(), 2u);
}

TEST(DeliveryLedgerTest, RemoveOfAbsentSeqChangesNothing) {
  DeliveryLedger ledger;
  for (uint64_t s : {0, 1, 5}) ledger.Add(1, s);
  const std::string before = ledger.Serialize();
  ledger.Remove(1, 3);  // in the gap
  ledger.Remove(1, 9);  // above everything
  ledger.Remove(2, 0);  // unknown incarnation
  EXPECT_EQ(ledger.Serialize(), before);
  EXPECT_EQ(ledger.Size(), 3u);
}

TEST(DeliveryLedgerTest, SerializeParseRoundTrip) {
  DeliveryLedger ledger;
  for (uint64_t s : {0, 1, 2, 7, 9}) ledger.Add(11, s);
  ledger.Add(12, 4);
  ledger.Add(uint64_t{1} << 63, 0);
  const std::string text = ledger.Serialize();

  absl::StatusOr<DeliveryLedger> parsed = DeliveryLedger::Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Serialize(), text);
  EXPECT_EQ(parsed->Size(), ledger.Size());
  EXPECT_EQ(parsed->Gaps(), ledger.Gaps());
  ExpectExactly(*parsed, 11, {0, 1, 2, 7, 9});
  ExpectExactly(*parsed, 12, {4});
  EXPECT_TRUE(parsed->Contains(uint64_t{1} << 63, 0));
  // The parsed ledger keeps working: duplicates and folding.
  EXPECT_FALSE(parsed->Add(11, 7));
  EXPECT_TRUE(parsed->Add(11, 3));
}

TEST(DeliveryLedgerTest, ParseEmptyTextIsEmptyLedger) {
  for (const char* text : {"", "\n", "  \n "}) {
    absl::StatusOr<DeliveryLedger> parsed = DeliveryLedger::Parse(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->Size(), 0u);
  }
}

TEST(DeliveryLedgerTest, ParseMalformedTextIsDataLoss) {
  for (const char* text : {
           "x",             // not a number
           "1 2 0\nabc\n",  // trailing garbage
           "1 2 2 5\n",     // fewer sparse seqs than announced
           "1 5 1 3\n",     // sparse seq below next
           "1 5 1 5\n",     // sparse seq equal to next
           "1 2 1 z\n",     // sparse seq not a number
       }) {
    absl::StatusOr<DeliveryLedger> parsed = DeliveryLedger::Parse(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss)
        << "text: '" << text << "'";
  }
}

TEST(DeliveryLedgerTest, ParseTruncatedEntryIsDataLoss) {
  for (const char* text : {"1", "1 2", "1 5 0\n2 3"}) {
    absl::StatusOr<DeliveryLedger> parsed = DeliveryLedger::Parse(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss)
        << "text: '" << text << "'";
  }
}

TEST(DeliveryLedgerTest, ParseRejectsRepeatedEntries) {
  for (const char* text : {"1 0 2 5 5\n", "1 3 0\n1 5 0\n"}) {
    absl::StatusOr<DeliveryLedger> parsed = DeliveryLedger::Parse(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss)
        << "text: '" << text << "'";
  }
}

}  // namespace
}  // namespace lantern::learner
