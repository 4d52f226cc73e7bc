#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace lantern::common {
namespace {

// The test vectors of RFC 3720 (iSCSI), appendix B.4, and the check value.
TEST(Crc32cTest, MatchesTheStandardTestVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending += char(i);
    descending += char(31 - i);
  }
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(Crc32c(""), 0u);
}

// The eight-bytes-at-a-time path against a bit-by-bit CRC, at every
// alignment and tail length.
TEST(Crc32cTest, AgreesWithABitwiseCrcAtEveryOffset) {
  std::string data;
  for (int i = 0; i < 300; ++i) data += char((i * 37 + 11) & 0xff);
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 290}) {
      const std::string_view s = std::string_view(data).substr(start, len);
      uint32_t c = 0xffffffffu;
      for (unsigned char b : s) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? 0x82F63B78u : 0);
      }
      EXPECT_EQ(Crc32c(s), c ^ 0xffffffffu) << start << " " << len;
    }
  }
}

// TFRecord's mask, by hand: rotate right by 15, add 0xa282ead8.
TEST(Crc32cTest, MasksAsTfRecordDoes) {
  EXPECT_EQ(MaskCrc32c(0), 0xa282ead8u);
  EXPECT_EQ(MaskCrc32c(0x00008000u), 0xa282ead9u);
  EXPECT_EQ(MaskCrc32c(0x00000001u), 0xa282ead8u + 0x00020000u);
  EXPECT_EQ(
      MaskCrc32c(0xE3069283u),
      uint32_t(((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xa282ead8u));
}

}  // namespace
}  // namespace lantern::common
