#include "learner/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lantern::learner {
namespace {

constexpr char kMagic[] = "LANTERN-CKPT-1\n";
constexpr size_t kMagicLen = sizeof(kMagic) - 1;

uint64_t Fnv1a64(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

void PutU64(std::string& out, uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), 8);
}

bool GetU64(const std::string& in, size_t& pos, uint64_t& v) {
  if (pos + 8 > in.size()) return false;
  std::memcpy(&v, in.data() + pos, 8);
  pos += 8;
  return true;
}

absl::StatusOr<CheckpointState> Decode(const std::string& bytes,
                                       const std::string& path) {
  auto corrupt = [&](const char* why) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is corrupt: ", why));
  };
  if (bytes.size() < kMagicLen + 24 ||
      bytes.compare(0, kMagicLen, kMagic) != 0) {
    return corrupt("bad header or truncated");
  }
  uint64_t sum = 0;
  size_t tail = bytes.size() - 8;
  std::memcpy(&sum, bytes.data() + tail, 8);
  if (Fnv1a64(bytes.data(), tail) != sum) return corrupt("checksum mismatch");
  size_t pos = kMagicLen;
  uint64_t meta_len = 0, blob_len = 0;
  if (!GetU64(bytes, pos, meta_len) || pos + meta_len > tail) {
    return corrupt("bad metadata length");
  }
  const std::string meta_text = bytes.substr(pos, meta_len);
  pos += meta_len;
  if (!GetU64(bytes, pos, blob_len) || pos + blob_len != tail) {
    return corrupt("bad model length");
  }
  CheckpointState s;
  s.updater = bytes.substr(pos, blob_len);
  try {
    const nlohmann::json meta = nlohmann::json::parse(meta_text);
    s.env_steps = meta.at("env_steps");
    s.episodes = meta.at("episodes");
    s.updates = meta.at("updates");
    s.seed = meta.at("seed");
    s.consumed_ledger = meta.at("consumed_ledger");
    for (const auto& e : meta.at("recent")) {
      s.recent.push_back({e.at(0), e.at(1), e.at(2)});
    }
  } catch (const nlohmann::json::exception& e) {
    return corrupt(e.what());
  }
  return s;
}

}  // namespace

absl::Status SaveCheckpoint(const std::string& dir,
                            const CheckpointState& state) {
  nlohmann::json meta = {{"env_steps", state.env_steps},
                         {"episodes", state.episodes},
                         {"updates", state.updates},
                         {"seed", state.seed},
                         {"consumed_ledger", state.consumed_ledger}};
  nlohmann::json recent = nlohmann::json::array();
  for (const EpisodeRecord& e : state.recent) {
    recent.push_back({e.episode_return, e.length, e.success});
  }
  meta["recent"] = std::move(recent);
  const std::string meta_text = meta.dump();
  std::string bytes(kMagic, kMagicLen);
  PutU64(bytes, meta_text.size());
  bytes += meta_text;
  PutU64(bytes, state.updater.size());
  bytes += state.updater;
  PutU64(bytes, Fnv1a64(bytes.data(), bytes.size()));

  const std::string path = dir + "/checkpoint.bin";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::filesystem::rename(path, dir + "/checkpoint.prev.bin", ec);
  }
  return common::WriteFileAtomic(path, bytes);
}

absl::StatusOr<CheckpointState> LoadCheckpoint(const std::string& dir,
                                               std::string* warning) {
  const std::string path = dir + "/checkpoint.bin";
  const std::string prev = dir + "/checkpoint.prev.bin";
  absl::StatusOr<std::string> bytes = common::ReadFile(path);
  absl::Status first_error;
  if (bytes.ok()) {
    absl::StatusOr<CheckpointState> s = Decode(*bytes, path);
    if (s.ok()) return s;
    first_error = s.status();
  }
  absl::StatusOr<std::string> prev_bytes = common::ReadFile(prev);
  if (!prev_bytes.ok()) {
    if (!first_error.ok()) return first_error;
    return absl::NotFoundError(absl::StrCat("no checkpoint in ", dir));
  }
  absl::StatusOr<CheckpointState> s = Decode(*prev_bytes, prev);
  if (!s.ok()) {
    return first_error.ok() ? s.status() : first_error;
  }
  if (warning != nullptr) {
    *warning = first_error.ok()
                   ? absl::StrCat(path, " is missing; using ", prev)
                   : absl::StrCat(first_error.message(), "; using ", prev);
  }
  return s;
}

}  // namespace lantern::learner
