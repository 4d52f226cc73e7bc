#include "learner/core/model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>

namespace lantern::core {
namespace {

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    torch::manual_seed(7);
  }
};

struct Inputs {
  torch::Tensor chars, stats, message, first;
};

Inputs RandomInputs(const ModelOptions& o, int64_t steps, int64_t batch) {
  Inputs in;
  in.chars =
      torch::randint(0, 256, {steps, batch, o.crop, o.crop}, torch::kUInt8);
  in.stats = torch::randn({steps, batch, o.num_stats});
  in.message =
      torch::randint(0, 256, {steps, batch, o.message_len}, torch::kUInt8);
  in.first = torch::zeros({steps, batch}, torch::kBool);
  return in;
}

ModelOptions SmallRnnOptions() {
  ModelOptions o;
  o.crop = 5;
  o.num_stats = 3;
  o.message_len = 8;
  o.num_actions = 4;
  o.char_embedding = 4;
  o.conv_channels = {6};
  o.hidden = 16;
  o.stats_hidden = 8;
  o.message_hidden = 8;
  o.use_rnn = true;
  o.rnn_hidden = 12;
  return o;
}

TEST_F(ModelTest, ShapesWithoutRnn) {
  const ModelOptions o;  // the quickstart-sized defaults
  PolicyNet net(o);
  const Inputs in = RandomInputs(o, 3, 2);
  const PolicyOutput out =
      net->forward(in.chars, in.stats, in.message, in.first, torch::Tensor());
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 2, o.num_actions}));
  EXPECT_EQ(out.values.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out.state.sizes(), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(net->StateSize(), 0);
  EXPECT_EQ(net->InitialState(2).sizes(), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(out.logits.scalar_type(), torch::kFloat);
}

TEST_F(ModelTest, ShapesWithRnn) {
  const ModelOptions o = SmallRnnOptions();
  PolicyNet net(o);
  const Inputs in = RandomInputs(o, 4, 3);
  const PolicyOutput out = net->forward(in.chars, in.stats, in.message,
                                        in.first, net->InitialState(3));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{4, 3, 4}));
  EXPECT_EQ(out.values.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(out.state.sizes(), (std::vector<int64_t>{3, 12}));
  EXPECT_EQ(net->StateSize(), 12);
}

TEST_F(ModelTest, NoConvolutions) {
  ModelOptions o = SmallRnnOptions();
  o.conv_channels.clear();
  o.use_rnn = false;
  PolicyNet net(o);
  const Inputs in = RandomInputs(o, 2, 5);
  const PolicyOutput out = net->forward(in.chars, in.stats, in.message,
                                        in.first.to(torch::kUInt8), {});
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5, 4}));
  EXPECT_EQ(net->named_parameters().find("map_fc.weight")->size(1),
            o.crop * o.crop * o.char_embedding);
}

TEST_F(ModelTest, BatchedStepsEqualSingleStepsWithoutRnn) {
  ModelOptions o = SmallRnnOptions();
  o.use_rnn = false;
  PolicyNet net(o);
  const Inputs in = RandomInputs(o, 3, 2);
  const PolicyOutput all =
      net->forward(in.chars, in.stats, in.message, in.first, {});
  for (int64_t t = 0; t < 3; ++t) {
    const auto s = torch::indexing::Slice(t, t + 1);
    const PolicyOutput one =
        net->forward(in.chars.index({s}), in.stats.index({s}),
                     in.message.index({s}), in.first.index({s}), {});
    EXPECT_TRUE(torch::allclose(one.logits[0], all.logits[t], 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(one.values[0], all.values[t], 1e-5, 1e-6));
  }
}

// Stepping T = 1 at a time, carrying the state (as the actor does), gives
// the same outputs as one T-step forward (as the learner does), resets
// included.
TEST_F(ModelTest, SingleStepsEqualUnrollWithRnn) {
  const ModelOptions o = SmallRnnOptions();
  PolicyNet net(o);
  const int64_t steps = 5;
  Inputs in = RandomInputs(o, steps, 2);
  in.first[2][1] = true;
  const torch::Tensor state0 = torch::randn({2, o.rnn_hidden});
  const PolicyOutput unroll =
      net->forward(in.chars, in.stats, in.message, in.first, state0);

  torch::Tensor state = state0;
  for (int64_t t = 0; t < steps; ++t) {
    const auto s = torch::indexing::Slice(t, t + 1);
    const PolicyOutput one =
        net->forward(in.chars.index({s}), in.stats.index({s}),
                     in.message.index({s}), in.first.index({s}), state);
    EXPECT_TRUE(torch::allclose(one.logits[0], unroll.logits[t], 1e-5, 1e-6))
        << "t = " << t;
    EXPECT_TRUE(torch::allclose(one.values[0], unroll.values[t], 1e-5, 1e-6));
    state = one.state;
  }
  EXPECT_TRUE(torch::allclose(state, unroll.state, 1e-5, 1e-6));
}

// first[3][0] = 1: from step 3 on, environment 0 must behave as if it
// started from a zero state at step 3, whatever came before.
TEST_F(ModelTest, FirstResetsRecurrentState) {
  const ModelOptions o = SmallRnnOptions();
  PolicyNet net(o);
  Inputs in = RandomInputs(o, 6, 2);
  in.first[3][0] = true;
  const torch::Tensor state0 = torch::randn({2, o.rnn_hidden});
  const PolicyOutput full =
      net->forward(in.chars, in.stats, in.message, in.first, state0);

  using torch::indexing::Slice;
  const auto tail = Slice(3, 6);
  const auto env0 = Slice(0, 1);
  const PolicyOutput fresh =
      net->forward(in.chars.index({tail, env0}), in.stats.index({tail, env0}),
                   in.message.index({tail, env0}),
                   torch::zeros({3, 1}, torch::kBool), net->InitialState(1));
  EXPECT_TRUE(torch::allclose(full.logits.index({tail, env0}), fresh.logits,
                              1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(full.values.index({tail, env0}), fresh.values,
                              1e-5, 1e-6));

  // Without the reset, the earlier steps do matter (the test has teeth).
  in.first[3][0] = false;
  const PolicyOutput carried =
      net->forward(in.chars, in.stats, in.message, in.first, state0);
  EXPECT_FALSE(torch::allclose(carried.logits.index({tail, env0}), fresh.logits,
                               1e-4, 1e-5));
}

// The actor imports weights by name: the names are part of the interface.
TEST_F(ModelTest, ParameterNames) {
  PolicyNet net(SmallRnnOptions());
  std::set<std::string> names;
  for (const auto& item : net->named_parameters()) names.insert(item.key());
  const std::set<std::string> expected = {
      "embedding.weight", "conv0.weight",       "conv0.bias",
      "map_fc.weight",    "map_fc.bias",        "message_fc1.weight",
      "message_fc1.bias", "message_fc2.weight", "message_fc2.bias",
      "stats_fc1.weight", "stats_fc1.bias",     "stats_fc2.weight",
      "stats_fc2.bias",   "core_fc.weight",     "core_fc.bias",
      "gru.weight_ih",    "gru.weight_hh",      "gru.bias_ih",
      "gru.bias_hh",      "policy.weight",      "policy.bias",
      "value.weight",     "value.bias"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(net->named_buffers().size(), 0u);
}

// The ONI-sized image encoder: uint8 pixels [C, 72, 72] through unpadded
// strided convolutions 8/4, 4/2, 3/2 (72 -> 17 -> 7 -> 3), no embedding.
TEST_F(ModelTest, ImageNetworkWithStridedConvolutions) {
  ModelOptions o;
  o.image_channels = 3;
  o.crop = 72;
  o.conv_channels = {8, 16, 32};
  o.conv_kernels = {8, 4, 3};
  o.conv_strides = {4, 2, 2};
  o.use_rnn = true;
  o.rnn_hidden = 16;
  PolicyNet net(o);
  EXPECT_EQ(net->MapShape(), (std::vector<int64_t>{3, 72, 72}));
  std::set<std::string> names;
  for (const auto& item : net->named_parameters()) names.insert(item.key());
  EXPECT_FALSE(names.contains("embedding.weight"));
  for (const auto& item : net->named_parameters()) {
    if (item.key() == "map_fc.weight") {
      EXPECT_EQ(item.value().sizes(), (std::vector<int64_t>{256, 32 * 3 * 3}));
    }
  }
  const torch::Tensor pixels =
      torch::randint(0, 256, {2, 3, 3, 72, 72}, torch::kUInt8);
  const PolicyOutput out =
      net->forward(pixels, torch::randn({2, 3, o.num_stats}),
                   torch::zeros({2, 3, o.message_len}, torch::kUInt8),
                   torch::zeros({2, 3}), net->InitialState(3));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 3, o.num_actions}));
  // A character crop is not an image.
  EXPECT_THROW(net->forward(torch::zeros({2, 3, 72, 72}, torch::kUInt8),
                            torch::randn({2, 3, o.num_stats}),
                            torch::zeros({2, 3, o.message_len}, torch::kUInt8),
                            torch::zeros({2, 3}), net->InitialState(3)),
               c10::Error);
}

// The network sees pixels scaled to 0..1 (the scale rides on the first
// convolution's weights): its forward is the plain one written out here.
TEST_F(ModelTest, ImagePixelsReachTheNetworkScaledToUnitRange) {
  for (const bool padded : {false, true}) {
    ModelOptions o;
    o.image_channels = 2;
    o.crop = 12;
    o.conv_channels = {4, 4};
    if (!padded) {
      o.conv_kernels = {4, 3};
      o.conv_strides = {2, 1};
    }
    PolicyNet net(o);
    const int64_t n = 2;
    const torch::Tensor pixels =
        torch::randint(0, 256, {1, n, 2, 12, 12}, torch::kUInt8);
    const torch::Tensor stats = torch::randn({1, n, o.num_stats});
    const torch::Tensor message =
        torch::randint(0, 256, {1, n, o.message_len}, torch::kUInt8);
    const PolicyOutput out = net->forward(
        pixels, stats, message, torch::zeros({1, n}), net->InitialState(n));

    auto p = net->named_parameters();
    const auto linear = [&](const torch::Tensor& x, const std::string& name) {
      return torch::elu(
          torch::linear(x, p[name + ".weight"], p[name + ".bias"]));
    };
    torch::Tensor x = pixels.reshape({n, 2, 12, 12}).to(torch::kFloat) / 255;
    const int64_t pad = padded ? 1 : 0;
    x = torch::elu(torch::conv2d(x, p["conv0.weight"], p["conv0.bias"],
                                 padded ? 1 : 2, pad));
    x = torch::elu(
        torch::conv2d(x, p["conv1.weight"], p["conv1.bias"], 1, pad));
    x = linear(x.permute({0, 2, 3, 1}).reshape({n, -1}), "map_fc");
    const torch::Tensor m = linear(
        linear(message.reshape({n, -1}).to(torch::kFloat) / 255, "message_fc1"),
        "message_fc2");
    const torch::Tensor st =
        linear(linear(stats.reshape({n, -1}), "stats_fc1"), "stats_fc2");
    const torch::Tensor core = linear(torch::cat({x, m, st}, 1), "core_fc");
    const torch::Tensor logits =
        torch::linear(core, p["policy.weight"], p["policy.bias"]);
    EXPECT_TRUE(
        torch::allclose(out.logits.reshape({n, -1}), logits, 1e-4, 1e-5))
        << "padded " << padded;
  }
}

TEST_F(ModelTest, RejectsConvolutionsThatDoNotFit) {
  ModelOptions o;
  o.conv_channels = {8, 8};
  o.conv_kernels = {3};  // one kernel for two convolutions
  EXPECT_THROW(PolicyNet{o}, c10::Error);
  o.conv_kernels = {5, 7};  // 9 -> 5 -> nothing
  EXPECT_THROW(PolicyNet{o}, c10::Error);
  o.conv_kernels = {3, 3};
  o.conv_strides = {2, 0};
  EXPECT_THROW(PolicyNet{o}, c10::Error);
}

TEST_F(ModelTest, RejectsWrongShapes) {
  const ModelOptions o = SmallRnnOptions();
  PolicyNet net(o);
  const Inputs in = RandomInputs(o, 2, 3);
  EXPECT_THROW(net->forward(in.chars, in.stats, in.message, in.first,
                            net->InitialState(2)),
               c10::Error);
  EXPECT_THROW(net->forward(in.chars, torch::zeros({2, 3, 9}), in.message,
                            in.first, net->InitialState(3)),
               c10::Error);
}

}  // namespace
}  // namespace lantern::core
