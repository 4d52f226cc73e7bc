#include "common/tensor_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace lantern::common {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Shape = std::vector<int64_t>;

template <class T>
v1::Tensor Encode(const Shape& shape, const std::vector<T>& values) {
  v1::Tensor t;
  EncodeTensor<T>(shape, values.data(), &t);
  return t;
}

template <class T>
std::vector<T> Decode(const v1::Tensor& t) {
  std::vector<T> out(t.data().size() / sizeof(T));
  std::memcpy(out.data(), t.data().data(), t.data().size());
  return out;
}

TEST(DTypeTest, SizesAndTypes) {
  EXPECT_EQ(DTypeSize(v1::DTYPE_UINT8), 1u);
  EXPECT_EQ(DTypeSize(v1::DTYPE_INT32), 4u);
  EXPECT_EQ(DTypeSize(v1::DTYPE_INT64), 8u);
  EXPECT_EQ(DTypeSize(v1::DTYPE_FLOAT32), 4u);
  EXPECT_EQ(DTypeSize(v1::DTYPE_UNSPECIFIED), 0u);
  EXPECT_EQ(DTypeSize(static_cast<v1::DType>(99)), 0u);
  static_assert(DTypeOf<float>() == v1::DTYPE_FLOAT32);
  static_assert(DTypeOf<int64_t>() == v1::DTYPE_INT64);
}

TEST(NumElementsTest, ProductOfDims) {
  EXPECT_EQ(NumElements(Shape{}), 1);  // a scalar
  EXPECT_EQ(NumElements(Shape{2, 3, 4}), 24);
  EXPECT_EQ(NumElements(Shape{5, 0, 7}), 0);
  EXPECT_EQ(NumElements(Shape{int64_t{1} << 20, int64_t{1} << 20}),
            int64_t{1} << 40);
}

TEST(NumElementsTest, NegativeOrOverflowIsMinusOne) {
  EXPECT_EQ(NumElements(Shape{2, -1}), -1);
  EXPECT_EQ(NumElements(Shape{int64_t{1} << 32, int64_t{1} << 32}), -1);
  EXPECT_EQ(NumElements(Shape{std::numeric_limits<int64_t>::max(), 2}), -1);
  EXPECT_EQ(NumElements(Shape{int64_t{1} << 21, int64_t{1} << 20}), -1);
}

TEST(EncodeTensorTest, RoundTripsEveryDtype) {
  const v1::Tensor f = Encode<float>({2, 2}, {1.5f, -2.0f, 0.0f, 1e30f});
  EXPECT_EQ(f.dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(f.shape(), ::testing::ElementsAre(2, 2));
  EXPECT_EQ(f.data().size(), 16u);
  EXPECT_EQ(Decode<float>(f), (std::vector<float>{1.5f, -2.0f, 0.0f, 1e30f}));
  EXPECT_TRUE(CheckTensor(f, "f", v1::DTYPE_FLOAT32, Shape{2, 2}).ok());

  const v1::Tensor i = Encode<int32_t>({3}, {-1, 0, 1 << 30});
  EXPECT_EQ(Decode<int32_t>(i), (std::vector<int32_t>{-1, 0, 1 << 30}));
  EXPECT_EQ(*(TensorData<int32_t>(i) + 2), 1 << 30);
  EXPECT_TRUE(CheckTensor(i, "i", v1::DTYPE_INT32, Shape{3}).ok());

  const v1::Tensor l = Encode<int64_t>({1, 2}, {int64_t{1} << 40, -5});
  EXPECT_EQ(Decode<int64_t>(l), (std::vector<int64_t>{int64_t{1} << 40, -5}));
  EXPECT_TRUE(CheckTensor(l, "l", v1::DTYPE_INT64, Shape{1, 2}).ok());

  const v1::Tensor u = Encode<uint8_t>({4}, {0, 1, 128, 255});
  EXPECT_EQ(u.data(), std::string("\x00\x01\x80\xff", 4));
  EXPECT_TRUE(CheckTensor(u, "u", v1::DTYPE_UINT8, Shape{4}).ok());
}

TEST(EncodeTensorTest, SurvivesProtoSerialization) {
  const v1::Tensor t = Encode<float>({3}, {0.25f, 0.5f, 0.75f});
  v1::Tensor back;
  ASSERT_TRUE(back.ParseFromString(t.SerializeAsString()));
  EXPECT_EQ(Decode<float>(back), (std::vector<float>{0.25f, 0.5f, 0.75f}));
}

TEST(CheckTensorTest, RejectsUnknownDtype) {
  v1::Tensor t = Encode<float>({1}, {1.0f});
  t.set_dtype(v1::DTYPE_UNSPECIFIED);
  const absl::Status st = CheckTensor(t, "x", v1::DTYPE_FLOAT32, Shape{1});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "x: unknown dtype 0");
}

TEST(CheckTensorTest, RejectsWrongDtype) {
  const v1::Tensor t = Encode<int32_t>({2}, {1, 2});
  const absl::Status st =
      CheckTensor(t, "rewards", v1::DTYPE_FLOAT32, Shape{2});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "rewards: dtype DTYPE_INT32, expected DTYPE_FLOAT32");
}

TEST(CheckTensorTest, RejectsWrongShape) {
  const v1::Tensor t = Encode<uint8_t>({2, 3}, std::vector<uint8_t>(6));
  absl::Status st = CheckTensor(t, "obs", v1::DTYPE_UINT8, Shape{3, 2});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "obs: shape [2,3], expected [3,2]");
  // Rank differs.
  st = CheckTensor(t, "obs", v1::DTYPE_UINT8, Shape{6});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), StartsWith("obs: shape"));
  st = CheckTensor(t, "obs", v1::DTYPE_UINT8, Shape{2, 3, 1});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
}

TEST(CheckTensorTest, AcceptsWildcardDims) {
  const v1::Tensor t = Encode<uint8_t>({2, 3}, std::vector<uint8_t>(6));
  EXPECT_TRUE(CheckTensor(t, "t", v1::DTYPE_UINT8, Shape{-1, 3}).ok());
  EXPECT_TRUE(CheckTensor(t, "t", v1::DTYPE_UINT8, Shape{2, -1}).ok());
  EXPECT_TRUE(CheckTensor(t, "t", v1::DTYPE_UINT8, Shape{-1, -1}).ok());
  EXPECT_FALSE(CheckTensor(t, "t", v1::DTYPE_UINT8, Shape{-1, 4}).ok());
  EXPECT_FALSE(CheckTensor(t, "t", v1::DTYPE_UINT8, Shape{-1}).ok());
}

TEST(CheckTensorTest, WildcardDoesNotMatchNegativeDim) {
  v1::Tensor t = Encode<uint8_t>({2}, {1, 2});
  t.set_shape(0, -2);
  EXPECT_EQ(CheckTensor(t, "t", v1::DTYPE_UINT8, Shape{-1}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckTensorTest, RejectsDataSizeMismatch) {
  v1::Tensor t = Encode<float>({2}, {1.0f, 2.0f});
  t.mutable_data()->pop_back();
  absl::Status st = CheckTensor(t, "logits", v1::DTYPE_FLOAT32, Shape{2});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "logits: 7 data bytes do not match shape [2]");

  t = Encode<float>({2}, {1.0f, 2.0f});
  t.mutable_data()->append(4, '\0');
  st = CheckTensor(t, "logits", v1::DTYPE_FLOAT32, Shape{2});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("12 data bytes"));
}

TEST(CheckTensorTest, RejectsOverflowingShapeWithoutReadingData) {
  v1::Tensor t;
  t.set_dtype(v1::DTYPE_UINT8);
  t.add_shape(int64_t{1} << 32);
  t.add_shape(int64_t{1} << 32);
  const absl::Status st = CheckTensor(t, "big", v1::DTYPE_UINT8, Shape{-1, -1});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), StartsWith("big:"));
}

TEST(CheckTensorTest, RejectsNonFiniteFloatsNamingField) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf}) {
    const v1::Tensor t = Encode<float>({3}, {0.0f, 1.0f, bad});
    const absl::Status st =
        CheckTensor(t, "behaviour_logits", v1::DTYPE_FLOAT32, Shape{3});
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(st.message(), "behaviour_logits: non-finite value at element 2");
  }
}

TEST(CheckTensorTest, AcceptsExtremeFiniteFloatsAndEmptyTensor) {
  const float max = std::numeric_limits<float>::max();
  const float denorm = std::numeric_limits<float>::denorm_min();
  const v1::Tensor t = Encode<float>({3}, {max, -max, denorm});
  EXPECT_TRUE(CheckTensor(t, "f", v1::DTYPE_FLOAT32, Shape{3}).ok());
  v1::Tensor empty;
  empty.set_dtype(v1::DTYPE_FLOAT32);
  empty.add_shape(4);
  empty.add_shape(0);
  EXPECT_TRUE(CheckTensor(empty, "e", v1::DTYPE_FLOAT32, Shape{4, 0}).ok());
}

}  // namespace
}  // namespace lantern::common
