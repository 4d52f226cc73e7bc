// The fuzz targets' inputs replayed in every build (no clang needed): the
// generated seeds, the committed corpus (fuzz/corpus/<target>/), every input
// a fuzzer once crashed on (fuzz/regressions/<target>/), and hostile shapes
// written here. A crash, a sanitizer report (in a sanitizer build) or a hang
// fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/files.h"
#include "fuzz/entries.h"

namespace lantern::fuzz {
namespace {

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

class FuzzReplayTest : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplayTest, EveryKnownInputReturns) {
  const Target& target = GetParam();
  int replayed = 0;
  for (const auto& [name, bytes] : Seeds(target.name)) {
    SCOPED_TRACE(name);
    target.run(bytes);
    ++replayed;
  }
  for (const char* kind : {"corpus", "regressions"}) {
    const std::filesystem::path dir =
        std::filesystem::path(LANTERN_SOURCE_DIR) / "fuzz" / kind / target.name;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      SCOPED_TRACE(entry.path().string());
      absl::StatusOr<std::string> bytes = common::ReadFile(entry.path());
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      target.run(*bytes);
      ++replayed;
    }
  }
  // Shapes that break naive parsers: empty, binary, deep nesting, huge
  // numbers, one very long line, every byte value.
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += char(b);
  for (const std::string& input :
       {std::string(), std::string(1, '\0'), std::string(1, '\x01'),
        std::string("\x02{"), Repeat("[", 100000), Repeat("{a: ", 20000),
        Repeat("- ", 50000), std::string("run: {name: ") + Repeat("9", 5000),
        std::string("learner: {batch_size: 1e999999}"),
        std::string("Dlvl:") + Repeat("9", 400) +
            " HP:-99999999999(0) T:" + Repeat("9", 400),
        Repeat("\xff", 4096), all_bytes, Repeat(all_bytes, 64)}) {
    target.run(input);
    ++replayed;
  }
  RecordProperty("inputs", replayed);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplayTest,
                         ::testing::ValuesIn(Targets()),
                         [](const ::testing::TestParamInfo<Target>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace lantern::fuzz
