// Reader for the word-vector binary; the format is documented in
// word_vectors.h and scripts/convert_embeddings.py.

#include "reward_server/annotators/word_vectors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lantern::reward {
namespace {

constexpr size_t kHeaderSize = 24;
constexpr uint32_t kMaxWords = 1u << 24;
constexpr uint32_t kMaxDim = 4096;
constexpr size_t kMaxWordBytes = 255;

absl::Status FileError(const std::string& path, const std::string& what) {
  return absl::DataLossError(
      absl::StrCat("word vectors file '", path, "' ", what));
}

// Reads exactly `n` bytes at `offset`.
absl::Status ReadAt(int fd, const std::string& path, char* out, size_t n,
                    off_t offset) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, out, n, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("reading word vectors file '", path, "'"));
    }
    if (got == 0) return FileError(path, "ended early (truncated?)");
    out += got;
    n -= size_t(got);
    offset += got;
  }
  return absl::OkStatus();
}

uint32_t LittleEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

}  // namespace

double Cosine(std::span<const float> a, std::span<const float> b) {
  double dot = 0, aa = 0, bb = 0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    dot += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  if (aa == 0 || bb == 0) return 0;
  return dot / std::sqrt(aa * bb);
}

absl::StatusOr<std::string> ResolveVectorsPath(std::string_view configured) {
  if (!configured.empty()) return std::string(configured);
  // Read at start-up only, before any thread could call setenv.
  if (const char* data = std::getenv("LANTERN_DATA"); data && *data) {
    return absl::StrCat(data, "/", std::string(kWordVectorsFileName));
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return absl::StrCat(home, "/.cache/lantern/",
                        std::string(kWordVectorsFileName));
  }
  return absl::InvalidArgumentError(
      "annotator.vectors is empty and neither LANTERN_DATA nor HOME is set: "
      "set annotator.vectors to the file scripts/fetch_embeddings.sh wrote");
}

absl::StatusOr<WordVectors> WordVectors::Load(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat(
          "word vectors file '", path,
          "' does not exist: run scripts/fetch_embeddings.sh to fetch and "
          "convert the GloVe vectors (or set annotator.vectors)"));
    }
    return absl::ErrnoToStatus(
        errno, absl::StrCat("opening word vectors file '", path, "'"));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat '", path, "'"));
  }
  if (!S_ISREG(st.st_mode)) return FileError(path, "is not a regular file");
  const uint64_t file_size = uint64_t(st.st_size);
  if (file_size < kHeaderSize) {
    return FileError(path,
                     absl::StrCat("is truncated: ", file_size,
                                  " bytes, less than the 24-byte header"));
  }
  char header[kHeaderSize];
  if (auto s = ReadAt(fd, path, header, kHeaderSize, 0); !s.ok()) return s;
  if (std::string_view(header, 8) != kWordVectorsMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat("word vectors file '", path,
                     "' has a bad magic (not a file written by "
                     "scripts/convert_embeddings.py)"));
  }
  const uint32_t version = LittleEndian32(header + 8);
  const uint32_t count = LittleEndian32(header + 12);
  const uint32_t dim = LittleEndian32(header + 16);
  const uint32_t words_bytes = LittleEndian32(header + 20);
  if (version != kWordVectorsVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("word vectors file '", path, "' has version ", version,
                     "; this build reads version ", kWordVectorsVersion));
  }
  if (count < 1 || count > kMaxWords || dim < 1 || dim > kMaxDim ||
      words_bytes < 2ull * count ||
      words_bytes > uint64_t(count) * (kMaxWordBytes + 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "word vectors file '", path, "' has an absurd header: ", count,
        " words, dim ", dim, ", word block of ", words_bytes, " bytes"));
  }
  // All in 64 bits: at most 24 + 2^32 + 4 * 2^24 * 2^12 bytes.
  const uint64_t expected =
      kHeaderSize + uint64_t(words_bytes) + 4ull * count * dim;
  if (file_size < expected) {
    return FileError(
        path, absl::StrCat("is truncated: its header promises ", expected,
                           " bytes, it has ", file_size));
  }
  if (file_size > expected) {
    return FileError(path, absl::StrCat("has ", file_size - expected,
                                        " trailing bytes after the matrix"));
  }

  WordVectors v;
  v.dim_ = int(dim);
  v.blob_.resize(words_bytes);
  if (auto s = ReadAt(fd, path, v.blob_.data(), words_bytes, kHeaderSize);
      !s.ok()) {
    return s;
  }
  if (v.blob_.back() != '\n') {
    return FileError(path, "has a word block that does not end in '\\n'");
  }
  v.words_.reserve(count);
  v.index_.reserve(count);
  v.stop_.reserve(count);
  const std::string_view blob(v.blob_.data(), v.blob_.size());
  for (size_t start = 0; start < blob.size();) {
    const size_t end = blob.find('\n', start);
    const std::string_view word = blob.substr(start, end - start);
    const size_t i = v.words_.size();
    if (word.empty() || word.size() > kMaxWordBytes) {
      return FileError(path, absl::StrCat("has an empty or over-long word at "
                                          "row ",
                                          i));
    }
    if (i == count) {
      return FileError(path, absl::StrCat("has more than the ", count,
                                          " words its header says"));
    }
    if (!v.index_.emplace(word, uint32_t(i)).second) {
      return FileError(path, absl::StrCat("has the word '", std::string(word),
                                          "' twice (row ", i, ")"));
    }
    v.words_.push_back(word);
    v.stop_.push_back(IsStopWord(word) ? 1 : 0);
    start = end + 1;
  }
  if (v.words_.size() != count) {
    return FileError(path, absl::StrCat("has ", v.words_.size(),
                                        " words, its header says ", count));
  }

  v.matrix_.resize(size_t(count) * dim);
  if (auto s = ReadAt(fd, path, reinterpret_cast<char*>(v.matrix_.data()),
                      v.matrix_.size() * sizeof(float),
                      off_t(kHeaderSize + words_bytes));
      !s.ok()) {
    return s;
  }
  if constexpr (std::endian::native == std::endian::big) {
    for (float& x : v.matrix_) {
      x = std::bit_cast<float>(__builtin_bswap32(std::bit_cast<uint32_t>(x)));
    }
  }
  for (size_t i = 0; i < v.matrix_.size(); ++i) {
    // A bit test rather than std::isfinite: it vectorises.
    if ((std::bit_cast<uint32_t>(v.matrix_[i]) & 0x7f800000u) == 0x7f800000u) {
      return FileError(path, absl::StrCat("has a non-finite value in the "
                                          "vector of '",
                                          std::string(v.words_[i / dim]), "'"));
    }
  }
  return v;
}

int64_t WordVectors::Row(std::string_view word) const {
  const auto it = index_.find(word);
  return it == index_.end() ? -1 : int64_t(it->second);
}

std::span<const float> WordVectors::Lookup(std::string_view word) const {
  const int64_t row = Row(word);
  if (row < 0) return {};
  return std::span<const float>(matrix_).subspan(size_t(row) * dim_, dim_);
}

int WordVectors::AccumulateText(std::string_view text,
                                std::span<float> sum) const {
  int known = 0;
  ForEachToken(text, [&](std::string_view token) {
    // One hash lookup per token: stop words are flagged per row at load.
    const int64_t row = Row(token);
    if (row < 0 || stop_[size_t(row)]) return;
    const float* v = matrix_.data() + size_t(row) * dim_;
    for (int d = 0; d < dim_; ++d) sum[d] += v[d];
    ++known;
  });
  return known;
}

std::optional<std::vector<float>> WordVectors::MeanVector(
    std::string_view text, int* known_words) const {
  std::vector<float> mean(dim_, 0.0f);
  const int known = AccumulateText(text, mean);
  if (known_words != nullptr) *known_words = known;
  if (known == 0) return std::nullopt;
  for (float& x : mean) x /= float(known);
  return mean;
}

}  // namespace lantern::reward
