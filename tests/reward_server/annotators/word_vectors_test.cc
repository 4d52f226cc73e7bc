#include "reward_server/annotators/word_vectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace lantern::reward {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Header {
  std::string magic = "LANTWVEC";
  uint32_t version = 1;
  uint32_t count = 0;  // 0: the number of words
  uint32_t dim = 3;
  uint32_t words_bytes = 0;  // 0: the size of the word block
};

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

// A file in the format of word_vectors.h, with a header that can lie.
std::string Encode(const std::vector<std::string>& words,
                   const std::vector<float>& matrix, Header h = {}) {
  std::string block;
  for (const std::string& w : words) block += w + "\n";
  std::string out = h.magic;
  PutU32(out, h.version);
  PutU32(out, h.count ? h.count : uint32_t(words.size()));
  PutU32(out, h.dim);
  PutU32(out, h.words_bytes ? h.words_bytes : uint32_t(block.size()));
  out += block;
  for (float x : matrix) {
    uint32_t bits;
    std::memcpy(&bits, &x, 4);
    PutU32(out, bits);
  }
  return out;
}

class WordVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lantern_wv_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& contents) {
    const std::string path = (dir_ / "v.bin").string();
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  // Loads `contents`; expects the error `code` naming the file and `what`.
  void ExpectError(const std::string& contents, absl::StatusCode code,
                   const std::string& what) {
    const std::string path = Write(contents);
    const auto v = WordVectors::Load(path);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), code) << v.status();
    EXPECT_THAT(v.status().message(), HasSubstr(path));
    EXPECT_THAT(v.status().message(), HasSubstr(what));
  }

  std::filesystem::path dir_;
  const std::vector<std::string> words_ = {"key", "door", "stairs"};
  const std::vector<float> matrix_ = {1, 0, 0, 0, 1, 0, 0, 0, 1};
};

TEST_F(WordVectorsTest, LoadsAndLooksUp) {
  const auto v = WordVectors::Load(Write(Encode(words_, matrix_)));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->dim(), 3);
  EXPECT_EQ(v->size(), 3u);
  EXPECT_EQ(v->word(1), "door");
  EXPECT_THAT(v->Lookup("door"), ElementsAre(0, 1, 0));
  EXPECT_THAT(v->Lookup("stairs"), ElementsAre(0, 0, 1));
  EXPECT_TRUE(v->Lookup("Door").empty());  // exact match only
  EXPECT_TRUE(v->Lookup("wall").empty());
}

TEST_F(WordVectorsTest, MissingFileSaysHowToFetch) {
  const std::string path = (dir_ / "absent.bin").string();
  const auto v = WordVectors::Load(path);
  ASSERT_EQ(v.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(v.status().message(), HasSubstr(path));
  EXPECT_THAT(v.status().message(), HasSubstr("scripts/fetch_embeddings.sh"));
}

TEST_F(WordVectorsTest, RejectsCorruptFiles) {
  using C = absl::StatusCode;
  const std::string good = Encode(words_, matrix_);
  ExpectError("", C::kDataLoss, "truncated");
  ExpectError(good.substr(0, 20), C::kDataLoss, "truncated");
  ExpectError(Encode(words_, matrix_, {.magic = "GLOVEVEC"}),
              C::kInvalidArgument, "bad magic");
  ExpectError(Encode(words_, matrix_, {.version = 2}), C::kInvalidArgument,
              "version 2");
  ExpectError(good.substr(0, good.size() - 4), C::kDataLoss, "truncated");
  ExpectError(good + "x", C::kDataLoss, "1 trailing bytes");
  ExpectError(Encode({"key", "key", "door"}, matrix_), C::kDataLoss, "twice");
  ExpectError(Encode({"key", "", "door"}, matrix_), C::kDataLoss, "empty");
  // The header says 3 words but the (consistently sized) block holds 2.
  ExpectError(Encode({"keys", "doors"}, matrix_, {.count = 3}), C::kDataLoss,
              "has 2 words, its header says 3");
  ExpectError(Encode({"a", "b", "c", "d"}, std::vector<float>(9), {.count = 3}),
              C::kDataLoss, "more than the 3 words");
  std::string no_newline = good;
  no_newline[24 + 15] = 'x';  // the block "key\ndoor\nstairs\n" ends at 24+15
  ExpectError(no_newline, C::kDataLoss, "does not end");
  std::vector<float> nan = matrix_;
  nan[4] = std::numeric_limits<float>::quiet_NaN();
  ExpectError(Encode(words_, nan), C::kDataLoss, "non-finite value");
  nan[4] = std::numeric_limits<float>::infinity();
  ExpectError(Encode(words_, nan), C::kDataLoss, "vector of 'door'");
}

TEST_F(WordVectorsTest, RejectsAbsurdHeadersBeforeAllocating) {
  using C = absl::StatusCode;
  ExpectError(Encode(words_, matrix_, {.count = 0xffffffffu}),
              C::kInvalidArgument, "absurd header");
  ExpectError(Encode(words_, matrix_, {.dim = 0}), C::kInvalidArgument,
              "absurd header");
  ExpectError(Encode(words_, matrix_, {.dim = 1u << 20}), C::kInvalidArgument,
              "absurd header");
  ExpectError(Encode(words_, matrix_, {.words_bytes = 0xfffffff0u}),
              C::kInvalidArgument, "absurd header");
  // Plausible limits, but promising 2^24 * 4096 floats from a tiny file.
  ExpectError(Encode(words_, matrix_,
                     {.count = 1u << 24, .dim = 4096, .words_bytes = 1u << 25}),
              C::kDataLoss, "truncated: its header promises");
}

TEST_F(WordVectorsTest, RejectsADirectory) {
  const auto v = WordVectors::Load(dir_.string());
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr(dir_.string()));
}

TEST_F(WordVectorsTest, MeanVectorSkipsStopWordsAndUnknownWords) {
  const auto v = WordVectors::Load(Write(Encode(words_, matrix_)));
  ASSERT_TRUE(v.ok()) << v.status();
  int known = -1;
  const auto mean =
      v->MeanVector("You see the key, the key and a DOOR!", &known);
  ASSERT_TRUE(mean.has_value());
  EXPECT_EQ(known, 3);
  EXPECT_THAT(*mean, ElementsAre(::testing::FloatEq(2.0f / 3),
                                 ::testing::FloatEq(1.0f / 3), 0));
  EXPECT_FALSE(v->MeanVector("You see nothing here.", &known).has_value());
  EXPECT_EQ(known, 0);
  EXPECT_FALSE(v->MeanVector("").has_value());
}

TEST(CosineTest, MatchesHandComputedValues) {
  const std::vector<float> a = {1, 2, 3}, b = {4, 5, 6}, zero = {0, 0, 0};
  // 32 / (sqrt(14) * sqrt(77))
  EXPECT_NEAR(Cosine(a, b), 0.9746318461970762, 1e-12);
  EXPECT_NEAR(Cosine(a, a), 1.0, 1e-12);
  const std::vector<float> minus_a = {-1, -2, -3};
  EXPECT_NEAR(Cosine(a, minus_a), -1.0, 1e-12);
  EXPECT_EQ(Cosine(a, zero), 0.0);
}

class ResolveVectorsPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"LANTERN_DATA", "HOME"}) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name,
                          v ? std::optional<std::string>(v) : std::nullopt);
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(ResolveVectorsPathTest, ConfiguredThenLanternDataThenHome) {
  ::setenv("LANTERN_DATA", "/data", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(*ResolveVectorsPath("/x/v.bin"), "/x/v.bin");
  EXPECT_EQ(*ResolveVectorsPath(""), "/data/glove-100d.bin");
  ::unsetenv("LANTERN_DATA");
  EXPECT_EQ(*ResolveVectorsPath(""), "/home/u/.cache/lantern/glove-100d.bin");
  ::unsetenv("HOME");
  EXPECT_EQ(ResolveVectorsPath("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lantern::reward
