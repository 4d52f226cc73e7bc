#include "learner/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lantern::learner {
namespace {

// Format 1 held the updater only; format 2 adds the rng, the reward model
// and the seen captions, each a length-prefixed section after it.
constexpr char kMagic1[] = "LANTERN-CKPT-1\n";
constexpr char kMagic[] = "LANTERN-CKPT-2\n";
constexpr size_t kMagicLen = sizeof(kMagic) - 1;
static_assert(sizeof(kMagic1) == sizeof(kMagic));

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

bool GetU64(const std::string& in, size_t end, size_t& pos, uint64_t& v) {
  if (pos + 8 > end) return false;
  std::memcpy(&v, in.data() + pos, 8);
  pos += 8;
  return true;
}

void PutSection(std::string& out, const std::string& bytes) {
  PutU64(out, bytes.size());
  out += bytes;
}

// One length-prefixed section of `in` ending by `end`.
bool GetSection(const std::string& in, size_t end, size_t& pos,
                std::string& out) {
  uint64_t n = 0;
  if (!GetU64(in, end, pos, n) || n > end - pos) return false;
  out = in.substr(pos, n);
  pos += n;
  return true;
}

absl::StatusOr<CheckpointState> Decode(const std::string& bytes,
                                       const std::string& path) {
  auto corrupt = [&](const char* why) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is corrupt: ", why));
  };
  const bool v1 = bytes.compare(0, kMagicLen, kMagic1) == 0;
  if (bytes.size() < kMagicLen + 24 ||
      (!v1 && bytes.compare(0, kMagicLen, kMagic) != 0)) {
    return corrupt("bad header or truncated");
  }
  uint64_t sum = 0;
  size_t tail = bytes.size() - 8;
  std::memcpy(&sum, bytes.data() + tail, 8);
  if (Fnv1a64(bytes.data(), tail) != sum) return corrupt("checksum mismatch");
  size_t pos = kMagicLen;
  std::string meta_text, captions;
  CheckpointState s;
  if (!GetSection(bytes, tail, pos, meta_text)) {
    return corrupt("bad metadata length");
  }
  if (!GetSection(bytes, tail, pos, s.updater)) {
    return corrupt("bad model length");
  }
  if (!v1 && (!GetSection(bytes, tail, pos, s.rng) ||
              !GetSection(bytes, tail, pos, s.reward_model) ||
              !GetSection(bytes, tail, pos, captions))) {
    return corrupt("bad section length");
  }
  if (pos != tail) return corrupt("bad section length");
  for (size_t p = 0; p < captions.size();) {
    std::string c;
    if (!GetSection(captions, captions.size(), p, c)) {
      return corrupt("bad caption length");
    }
    s.seen_captions.push_back(std::move(c));
  }
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
  std::string captions;
  for (const std::string& c : state.seen_captions) PutSection(captions, c);
  std::string bytes(kMagic, kMagicLen);
  for (const std::string* section : std::initializer_list<const std::string*>{
           &meta_text, &state.updater, &state.rng, &state.reward_model,
           &captions}) {
    PutSection(bytes, *section);
  }
  PutU64(bytes, Fnv1a64(bytes.data(), bytes.size()));

  const std::string path = dir + "/checkpoint.bin";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::filesystem::rename(path, dir + "/checkpoint.prev.bin", ec);
  }
  return common::WriteFileAtomic(path, bytes);
}

std::string CpuRngState() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard lock(gen.mutex());
  const at::Tensor state = gen.get_state();
  return std::string(static_cast<const char*>(state.data_ptr()),
                     size_t(state.numel()));
}

absl::Status RestoreCpuRng(const std::string& state) {
  try {
    at::Tensor t = at::empty({int64_t(state.size())}, at::kByte);
    std::memcpy(t.data_ptr(), state.data(), state.size());
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard lock(gen.mutex());
    gen.set_state(t);
  } catch (const c10::Error& e) {
    return absl::DataLossError(
        std::string("checkpoint's random generator state is unusable: ") +
        e.what_without_backtrace());
  }
  return absl::OkStatus();
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
