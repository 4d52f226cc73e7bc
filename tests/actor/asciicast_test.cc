#include "actor/asciicast.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"

namespace lantern::actor {
namespace {

Frame TwoByThree() {
  // "ab@" over "c d"; '@' bright yellow (11), 'b' red (1), the rest 7.
  return Frame{2, 3, "ab@c d", {7, 1, 11, 7, 7, 7}};
}

TEST(AnsiFrameTest, RedrawsWithColourChangesAndLinesBelow) {
  EXPECT_EQ(AnsiFrame(TwoByThree(), {"step 1", "a line longer than ten"}, 10),
            "\x1b[H\x1b[2J"
            "\x1b[0;37ma\x1b[0;31mb\x1b[0;1;33m@\x1b[0m\r\n"
            "\x1b[0;37mc d\x1b[0m\r\n"
            "step 1\r\n"
            "a line lon\r\n");
}

TEST(AnsiFrameTest, ControlBytesNeverReachTheTerminal) {
  const Frame f{1, 3, std::string("a\x1b\n", 3), {7, 7, 7}};
  EXPECT_EQ(AnsiFrame(f, {}, 80), "\x1b[H\x1b[2J\x1b[0;37ma??\x1b[0m\r\n");
}

// asciicast v2 (docs.asciinema.org/manual/asciicast/v2): line 1 a JSON
// object with version 2, width, height (and optional timestamp, title,
// env); every further line a JSON array [time, "o", data] with
// non-decreasing times.
TEST(AsciicastTest, WritesAHeaderAndOneEventPerFrame) {
  const std::string path = ::testing::TempDir() + "asciicast_test_" +
                           std::to_string(::getpid()) + ".cast";
  {
    absl::StatusOr<std::unique_ptr<Asciicast>> cast =
        Asciicast::Create(path, 80, 5, "a \"quoted\" title");
    ASSERT_TRUE(cast.ok()) << cast.status();
    ASSERT_TRUE((*cast)->Show(0, TwoByThree(), {"start"}).ok());
    ASSERT_TRUE((*cast)->Show(0.15, TwoByThree(), {"caption: \xff bad"}).ok());
  }
  absl::StatusOr<std::string> text = common::ReadFile(path);
  ASSERT_TRUE(text.ok());
  std::istringstream in(*text);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const nlohmann::json header = nlohmann::json::parse(line);
  EXPECT_EQ(header["version"], 2);
  EXPECT_EQ(header["width"], 80);
  EXPECT_EQ(header["height"], 5);
  EXPECT_EQ(header["title"], "a \"quoted\" title");
  EXPECT_GT(header["timestamp"].get<int64_t>(), 1700000000);
  double last = -1;
  int events = 0;
  while (std::getline(in, line)) {
    const nlohmann::json e = nlohmann::json::parse(line);  // valid UTF-8 too
    ASSERT_TRUE(e.is_array() && e.size() == 3) << line;
    EXPECT_GE(e[0].get<double>(), last);
    last = e[0].get<double>();
    EXPECT_EQ(e[1], "o");
    EXPECT_EQ(e[2].get<std::string>().rfind("\x1b[H\x1b[2J", 0), 0u);
    ++events;
  }
  EXPECT_EQ(events, 2);
  std::filesystem::remove(path);
}

TEST(AsciicastTest, AnUnwritablePathIsAClearError) {
  absl::StatusOr<std::unique_ptr<Asciicast>> cast =
      Asciicast::Create("/proc/nope/x.cast", 80, 24, "");
  ASSERT_FALSE(cast.ok());
  EXPECT_NE(cast.status().message().find("/proc/nope/x.cast"),
            std::string::npos);
}

}  // namespace
}  // namespace lantern::actor
