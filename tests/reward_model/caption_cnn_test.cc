#include "reward_model/caption_cnn.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

namespace lantern::reward_model {
namespace {

class CaptionCnnTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }
};

torch::Tensor RandomCaptions(int64_t n, int64_t length) {
  return torch::randint(0, 256, {n, length}, torch::kByte);
}

TEST_F(CaptionCnnTest, ConvOutputLength) {
  EXPECT_EQ(ConvOutputLength(256), 5);  // ONI's 5 x 64 = 320 features
  EXPECT_EQ(ConvOutputLength(kMinCaptionLength), 1);
  EXPECT_EQ(ConvOutputLength(kMinCaptionLength - 1), 0);
  EXPECT_EQ(ConvOutputLength(128), 1);
  EXPECT_EQ(ConvOutputLength(512), 15);  // 506 168 162 54 46 15
}

TEST_F(CaptionCnnTest, OniSizedShapesAndNames) {
  CaptionCnnOptions options;  // ONI's classification model
  CaptionCnn net(options);
  const torch::Tensor logits = net->forward(RandomCaptions(3, 256));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(logits.scalar_type(), torch::kFloat);

  const auto params = net->named_parameters();
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"embedding.weight", {256, 32}},
      {"conv1.weight", {64, 32, 7}},
      {"conv2.weight", {64, 64, 7}},
      {"conv6.weight", {64, 64, 3}},
      {"conv6.bias", {64}},
      {"fc.weight", {128, 320}},
      {"hidden1.weight", {512, 128}},
      {"hidden2.weight", {512, 512}},
      {"head.weight", {2, 512}},
      {"head.bias", {2}}};
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(params.contains(name)) << name;
    EXPECT_EQ(params[name].sizes(), shape) << name;
  }
  EXPECT_EQ(params.size(), 1u + 2 * 6 + 2 + 2 * 2 + 2);
  EXPECT_TRUE(net->named_buffers().is_empty());

  options.kind = RewardModelKind::kRanking;
  CaptionCnn ranking(options);
  EXPECT_EQ(ranking->forward(RandomCaptions(4, 256)).sizes(),
            (std::vector<int64_t>{4}));
  EXPECT_EQ(ranking->named_parameters()["head.weight"].sizes(),
            (std::vector<int64_t>{1, 512}));
}

TEST_F(CaptionCnnTest, ConfigurableLengthAndWidths) {
  CaptionCnnOptions options;
  options.caption_length = 512;
  options.embedding_dim = 8;
  options.channels = 16;
  options.encoder_dim = 32;
  options.hidden = {24};
  CaptionCnn net(options);
  EXPECT_EQ(net->named_parameters()["fc.weight"].sizes(),
            (std::vector<int64_t>{32, 16 * ConvOutputLength(512)}));
  EXPECT_EQ(net->forward(RandomCaptions(2, 512)).sizes(),
            (std::vector<int64_t>{2, 2}));
  EXPECT_THROW(net->forward(RandomCaptions(2, 256)), c10::Error);
  EXPECT_THROW(net->forward(RandomCaptions(2, 512).to(torch::kLong)),
               c10::Error);
  options.hidden = {};  // the head right after the encoder
  EXPECT_EQ(CaptionCnn(options)->forward(RandomCaptions(1, 512)).sizes(),
            (std::vector<int64_t>{1, 2}));
}

TEST_F(CaptionCnnTest, RejectsInvalidOptions) {
  CaptionCnnOptions options;
  options.caption_length = kMinCaptionLength - 1;
  EXPECT_THROW(CaptionCnn{options}, c10::Error);
  options = {};
  options.dropout = 1.0;
  EXPECT_THROW(CaptionCnn{options}, c10::Error);
  options = {};
  options.hidden = {512, 0};
  EXPECT_THROW(CaptionCnn{options}, c10::Error);
}

TEST_F(CaptionCnnTest, InitialisationIsDeterministicUnderTheSeed) {
  CaptionCnnOptions options;
  options.seed = 42;
  torch::manual_seed(1);
  CaptionCnn a(options);
  torch::manual_seed(2);  // the global seed plays no part
  CaptionCnn b(options);
  options.seed = 43;
  CaptionCnn c(options);
  const auto pa = a->named_parameters();
  const auto pb = b->named_parameters();
  const auto pc = c->named_parameters();
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
    EXPECT_FALSE(torch::equal(item.value(), pc[item.key()])) << item.key();
  }
  // PyTorch's default ranges, and the padding byte embeds to zeros.
  EXPECT_TRUE(torch::equal(pa["embedding.weight"][0], torch::zeros({32})));
  EXPECT_LE(pa["conv1.weight"].abs().max().item<float>(),
            1.0 / std::sqrt(32.0 * 7));
  EXPECT_LE(pa["hidden2.bias"].abs().max().item<float>(),
            1.0 / std::sqrt(512.0));
  EXPECT_GT(pa["hidden2.bias"].abs().max().item<float>(),
            0.9 / std::sqrt(512.0));
}

TEST_F(CaptionCnnTest, DropoutOnlyInTraining) {
  CaptionCnnOptions options;
  options.kind = RewardModelKind::kRanking;
  options.dropout = 0.5;
  CaptionCnn net(options);
  const torch::Tensor x = RandomCaptions(8, 256);
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
  net->train();
  EXPECT_FALSE(torch::equal(net->forward(x), net->forward(x)));
}

TEST_F(CaptionCnnTest, GradientsReachEveryParameterButThePaddingRow) {
  CaptionCnnOptions options;
  options.caption_length = 128;
  options.channels = 8;
  CaptionCnn net(options);
  torch::Tensor x = RandomCaptions(4, 128).clamp_min(1);
  x.slice(1, 100).zero_();  // padding after byte 100
  net->forward(x).sum().backward();
  for (const auto& item : net->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<float>(), 0) << item.key();
  }
  EXPECT_TRUE(
      torch::equal(net->named_parameters()["embedding.weight"].grad()[0],
                   torch::zeros({32})));
}

}  // namespace
}  // namespace lantern::reward_model
