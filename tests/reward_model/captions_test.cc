#include "reward_model/captions.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <string_view>
#include <vector>

namespace lantern::reward_model {
namespace {

std::vector<uint8_t> Row(const torch::Tensor& t, int64_t i) {
  const torch::Tensor row = t[i].contiguous();
  return {row.data_ptr<uint8_t>(), row.data_ptr<uint8_t>() + row.numel()};
}

TEST(CaptionsTest, PadsWithZerosAndTruncates) {
  const std::vector<std::string_view> captions = {"abc", "", "abcdefgh",
                                                  "abcdef"};
  const torch::Tensor t = EncodeCaptions(captions, 6);
  EXPECT_EQ(t.scalar_type(), torch::kByte);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{4, 6}));
  EXPECT_EQ(Row(t, 0), (std::vector<uint8_t>{'a', 'b', 'c', 0, 0, 0}));
  EXPECT_EQ(Row(t, 1), (std::vector<uint8_t>(6, 0)));
  EXPECT_EQ(Row(t, 2), (std::vector<uint8_t>{'a', 'b', 'c', 'd', 'e', 'f'}));
  EXPECT_EQ(Row(t, 3), (std::vector<uint8_t>{'a', 'b', 'c', 'd', 'e', 'f'}));
}

TEST(CaptionsTest, KeepsRawBytesAbove127) {
  // Latin-1 bytes travel unchanged: no decoding, no tokenizer.
  const std::vector<std::string> captions = {std::string("\xe9\xff\x01", 3)};
  const torch::Tensor t = EncodeCaptions(captions, 4);
  EXPECT_EQ(Row(t, 0), (std::vector<uint8_t>{0xe9, 0xff, 0x01, 0}));
}

TEST(CaptionsTest, EmptyBatchAndBadLength) {
  const std::vector<std::string> none;
  EXPECT_EQ(EncodeCaptions(none, 256).sizes(), (std::vector<int64_t>{0, 256}));
  EXPECT_THROW(EncodeCaptions(none, 0), c10::Error);
}

TEST(CaptionsTest, FitCaptionsTruncatesAndPads) {
  const std::vector<std::string_view> captions = {"hello", "hi"};
  const torch::Tensor five = EncodeCaptions(captions, 5);
  const torch::Tensor three = FitCaptions(five, 3);
  EXPECT_TRUE(torch::equal(three, EncodeCaptions(captions, 3)));
  const torch::Tensor eight = FitCaptions(five, 8);
  EXPECT_TRUE(torch::equal(eight, EncodeCaptions(captions, 8)));
  EXPECT_TRUE(FitCaptions(five, 5).is_same(five));
  EXPECT_THROW(FitCaptions(five.to(torch::kLong), 5), c10::Error);
  EXPECT_THROW(FitCaptions(five[0], 5), c10::Error);
}

}  // namespace
}  // namespace lantern::reward_model
