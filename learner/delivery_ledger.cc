#include "learner/delivery_ledger.h"

#include <sstream>

#include "absl/strings/str_cat.h"

namespace lantern::learner {

bool DeliveryLedger::Contains(uint64_t incarnation, uint64_t seq) const {
  auto it = entries_.find(incarnation);
  if (it == entries_.end()) return false;
  return seq < it->second.next || it->second.above.contains(seq);
}

bool DeliveryLedger::Add(uint64_t incarnation, uint64_t seq) {
  Entry& e = entries_[incarnation];
  if (seq < e.next || !e.above.insert(seq).second) return false;
  ++size_;
  // Fold the contiguous run into `next` so steady streams stay O(1) in size.
  while (!e.above.empty() && *e.above.begin() == e.next) {
    e.above.erase(e.above.begin());
    ++e.next;
  }
  return true;
}

void DeliveryLedger::Remove(uint64_t incarnation, uint64_t seq) {
  auto it = entries_.find(incarnation);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.above.erase(seq) == 1) {
    --size_;
  } else if (seq + 1 == e.next) {
    --e.next;
    --size_;
  } else if (seq < e.next) {
    // Split the run: seqs seq+1 .. next-1 move to the sparse set.
    for (uint64_t s = seq + 1; s < e.next; ++s) e.above.insert(s);
    e.next = seq;
    --size_;
  }
}

uint64_t DeliveryLedger::Prefix(uint64_t incarnation) const {
  auto it = entries_.find(incarnation);
  return it == entries_.end() ? 0 : it->second.next;
}

uint64_t DeliveryLedger::Gaps() const {
  uint64_t gaps = 0;
  for (const auto& [inc, e] : entries_) {
    if (e.above.empty()) continue;
    gaps += *e.above.rbegin() + 1 - e.next - e.above.size();
  }
  return gaps;
}

std::string DeliveryLedger::Serialize() const {
  std::string out;
  for (const auto& [inc, e] : entries_) {
    absl::StrAppend(&out, inc, " ", e.next, " ", e.above.size());
    for (uint64_t s : e.above) absl::StrAppend(&out, " ", s);
    out += "\n";
  }
  return out;
}

absl::StatusOr<DeliveryLedger> DeliveryLedger::Parse(const std::string& text) {
  DeliveryLedger ledger;
  std::istringstream lines(text);
  int line_no = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_no;
    auto bad = [&](const char* why) {
      return absl::DataLossError(
          absl::StrCat("delivery ledger line ", line_no, ": ", why));
    };
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::istringstream in(line);
    uint64_t inc, next, n;
    if (!(in >> inc >> next >> n)) return bad("truncated entry");
    if (ledger.entries_.contains(inc)) return bad("incarnation repeated");
    Entry& e = ledger.entries_[inc];
    e.next = next;
    ledger.size_ += next;
    uint64_t last = next;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t seq;
      if (!(in >> seq)) return bad("truncated entry");
      if (seq <= last) return bad("sequence numbers not increasing");
      e.above.insert(seq);
      last = seq;
      ++ledger.size_;
    }
    std::string rest;
    if (in >> rest) return bad("trailing data");
  }
  return ledger;
}

}  // namespace lantern::learner
