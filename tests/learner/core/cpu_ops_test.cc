#include "learner/core/cpu_ops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/learner/core/expect_close.h"

namespace lantern::core {
namespace {

// Gradients of sum(out * weights) with respect to `inputs`.
std::vector<torch::Tensor> Grads(const torch::Tensor& out,
                                 const torch::Tensor& weights,
                                 const std::vector<torch::Tensor>& inputs) {
  return torch::autograd::grad({(out * weights).sum()}, inputs);
}

// Every range the kernel's exp(x) - 1 treats differently: both sides of
// 0, either side of the reduction's boundaries (+-ln2 / 2), the clamp at
// -87, and what is not a finite number.
torch::Tensor EdgeValues() {
  const float inf = std::numeric_limits<float>::infinity();
  return torch::tensor({0.0f,   -0.0f,    1e-30f,   -1e-30f, 1e-8f,   -1e-8f,
                        -1e-4f, -0.3465f, -0.3467f, -0.5f,   -1.0f,   -2.0f,
                        -10.0f, -86.9f,   -87.0f,   -87.5f,  -100.0f, -1e30f,
                        0.5f,   3.0f,     1e30f,    inf,     -inf});
}

TEST(EluTest, MatchesTheExactValuesEverywhere) {
  torch::manual_seed(1);
  const torch::Tensor x =
      torch::cat({EdgeValues(), torch::randn({100000}) * 4});
  // Against the exact values (expm1 in double; torch::elu computes
  // exp(x) - 1, which rounds -1e-30 to 0): within 2 float ulps of each.
  const torch::Tensor exact = x.to(torch::kDouble);
  const torch::Tensor want =
      torch::where(exact > 0, exact, torch::expm1(exact));
  torch::Tensor got = x.clone();
  EXPECT_TRUE(Elu_(got).is_same(got));
  const torch::Tensor finite = torch::isfinite(want);
  EXPECT_TRUE(torch::equal(got.masked_select(~finite),
                           want.masked_select(~finite).to(torch::kFloat)));
  const torch::Tensor rounded = want.to(torch::kFloat).abs();
  const torch::Tensor ulp =
      (torch::nextafter(rounded, torch::full_like(rounded, INFINITY)) - rounded)
          .to(torch::kDouble);
  const torch::Tensor ulps =
      ((got.to(torch::kDouble) - want).abs() / ulp).masked_select(finite);
  EXPECT_LE(ulps.max().item<double>(), 2.0);
  // Near 0 relatively exact, where exp(x) - 1 would lose every digit.
  EXPECT_FLOAT_EQ(got[5].item<float>(), -1e-8f);
  EXPECT_EQ(got[14].item<float>(), -1.0f);

  const torch::Tensor nan = torch::full({3}, NAN);
  EXPECT_TRUE(torch::isnan(Elu_(nan.clone())).all().item<bool>());
}

// The backward against autograd through torch::elu, for each memory
// layout the network produces: plain rows, channels-last maps, and a
// strided slice (which takes LibTorch's ops).
TEST(EluTest, GradientMatchesLibTorch) {
  torch::manual_seed(2);
  const std::vector<std::pair<std::string, torch::Tensor>> cases = {
      {"rows", torch::randn({64, 33})},
      {"channels last", torch::randn({8, 5, 4, 4})
                            .contiguous(torch::MemoryFormat::ChannelsLast)},
      {"slice", torch::randn({16, 10}).slice(1, 0, 10, 3)}};
  for (const auto& [name, values] : cases) {
    const torch::Tensor x = values.clone().requires_grad_(true);
    const torch::Tensor weights = torch::randn(values.sizes());
    const torch::Tensor want = torch::elu(x);
    // Elu_ writes over its input: give it a copy that is not a leaf.
    const torch::Tensor got = Elu_(x * 1);
    ExpectClose(got, want, 1e-6, name.c_str());
    ExpectClose(Grads(got, weights, {x})[0], Grads(want, weights, {x})[0], 1e-6,
                name.c_str());
  }
}

// The backward writes into the incoming gradient only when nothing else
// holds it. Here one gradient reaches two ELUs (the sum's backward passes
// the same tensor to both), a retained gradient is kept, and a sum's
// gradient is one value broadcast (not a buffer at all): each must come
// out as autograd through torch::elu gives it.
TEST(EluTest, GradientsHeldElsewhereAreLeftAlone) {
  torch::manual_seed(6);
  const torch::Tensor a = torch::randn({32, 16}, torch::requires_grad());
  const torch::Tensor b = torch::randn({32, 16}, torch::requires_grad());
  const torch::Tensor weights = torch::randn({32, 16});

  const torch::Tensor got_sum = Elu_(a * 1) + Elu_(b * 1);
  got_sum.retain_grad();
  const auto got = Grads(got_sum, weights, {a, b});
  const torch::Tensor want_sum = torch::elu(a) + torch::elu(b);
  const auto want = Grads(want_sum, weights, {a, b});
  ExpectClose(got[0], want[0], 1e-6, "first ELU");
  ExpectClose(got[1], want[1], 1e-6, "second ELU");

  const torch::Tensor y = Elu_(a * 1);
  y.retain_grad();
  (y * weights).sum().backward();
  ExpectClose(y.grad(), weights, 0, "retained gradient");

  const torch::Tensor broadcast = torch::randn({8, 8}, torch::requires_grad());
  const torch::Tensor grad_want =
      torch::autograd::grad({torch::elu(broadcast).sum()}, {broadcast})[0];
  const torch::Tensor grad_got =
      torch::autograd::grad({Elu_(broadcast * 1).sum()}, {broadcast})[0];
  ExpectClose(grad_got, grad_want, 1e-6, "broadcast gradient");
}

// Elu_ overwrites its input, so a backward through an op that saved the
// old values must fail rather than use the new ones, with or without
// Elu_'s own gradient.
TEST(EluTest, RefusesABackwardThroughOverwrittenValues) {
  const torch::Tensor x = torch::randn({4, 4}, torch::requires_grad());
  const torch::Tensor saved_result = x.exp();  // exp keeps its result
  Elu_(saved_result);
  EXPECT_THROW(saved_result.sum().backward(), c10::Error);

  const torch::Tensor y = torch::randn({4, 4}, torch::requires_grad());
  const torch::Tensor factor = torch::randn({4, 4});
  const torch::Tensor product = y * factor;  // mul keeps factor
  Elu_(factor);                              // no gradient of its own
  EXPECT_THROW(product.sum().backward(), c10::Error);
}

TEST(EmbedTest, MatchesLibTorchEmbedding) {
  torch::manual_seed(3);
  const torch::Tensor table = torch::randn({256, 6}, torch::requires_grad());
  // Repeats and both ends of the byte range.
  torch::Tensor indices = torch::randint(0, 256, {5, 7, 3}).to(torch::kByte);
  indices[0][0][0] = 0;
  indices[0][0][1] = 255;
  indices[1] = indices[2];
  const torch::Tensor want = torch::embedding(table, indices.to(torch::kLong));
  const torch::Tensor got = Embed(table, indices);
  ExpectClose(got, want, 0, "rows");
  const torch::Tensor weights = torch::randn(want.sizes());
  ExpectClose(Grads(got, weights, {table})[0], Grads(want, weights, {table})[0],
              1e-5, "table gradient");
}

TEST(EmbedTest, RejectsIndicesOutsideTheTableAndOtherTypes) {
  const torch::Tensor table = torch::randn({10, 4});
  const torch::Tensor indices = torch::tensor({1, 9, 10}).to(torch::kByte);
  try {
    Embed(table, indices);
    FAIL() << "index 10 of a 10-row table was looked up";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 10 outside the table's 10"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Embed(table, torch::tensor({1, 2})), c10::Error);  // int64
  EXPECT_THROW(EmbedConv(table, torch::full({1, 3, 3}, 10, torch::kByte),
                         torch::randn({2, 4, 3, 3}), torch::Tensor(), 1, 1),
               c10::Error);
}

struct Geometry {
  int64_t side, kernel, stride, padding;
};

// EmbedConv against at::embedding and at::conv2d, output and every
// gradient, for the geometries the networks use (padded 3x3, strided and
// unpadded), a kernel as wide as the map, and without a bias.
void ExpectEmbedConvMatches(int64_t batch) {
  torch::manual_seed(4);
  const Geometry geometries[] = {
      {9, 3, 1, 1}, {9, 3, 2, 1}, {8, 2, 2, 0}, {5, 5, 1, 0}, {6, 1, 1, 0}};
  for (const Geometry& g : geometries) {
    for (const bool with_bias : {true, false}) {
      const std::string what = "side " + std::to_string(g.side) + " kernel " +
                               std::to_string(g.kernel) + " stride " +
                               std::to_string(g.stride) + " padding " +
                               std::to_string(g.padding) +
                               (with_bias ? " bias" : " no bias");
      const torch::Tensor table =
          torch::randn({256, 5}, torch::requires_grad());
      const torch::Tensor weight =
          torch::randn({7, 5, g.kernel, g.kernel}, torch::requires_grad());
      const torch::Tensor bias = with_bias
                                     ? torch::randn({7}, torch::requires_grad())
                                     : torch::Tensor();
      // Few distinct characters, as on a map: runs of the same one.
      const torch::Tensor chars =
          (torch::randint(0, 4, {batch, g.side, g.side}) * 60).to(torch::kByte);
      const torch::Tensor want = torch::conv2d(
          torch::embedding(table, chars.to(torch::kLong)).permute({0, 3, 1, 2}),
          weight, bias, g.stride, g.padding);
      const torch::Tensor got =
          EmbedConv(table, chars, weight, bias, g.stride, g.padding);
      ExpectClose(got, want, 1e-5, what.c_str());
      EXPECT_TRUE(got.is_contiguous(torch::MemoryFormat::ChannelsLast)) << what;
      std::vector<torch::Tensor> inputs = {table, weight};
      if (with_bias) inputs.push_back(bias);
      const torch::Tensor weights = torch::randn(want.sizes());
      const auto got_grads = Grads(got, weights, inputs);
      const auto want_grads = Grads(want, weights, inputs);
      for (size_t i = 0; i < inputs.size(); ++i) {
        // Sums over the whole batch, in another order: float rounding
        // relative to their size.
        const double scale = want_grads[i].abs().max().item<double>();
        ExpectClose(got_grads[i], want_grads[i], 1e-5 * scale + 1e-5,
                    (what + " gradient " + std::to_string(i)).c_str());
      }
    }
  }
}

TEST(EmbedConvTest, MatchesEmbeddingThenConvolution) {
  ExpectEmbedConvMatches(6);
}

// With learner.torch_threads > 1 the kernels split their work: the ELU by
// element (the same values as on one thread), the sums by batch (one set
// per thread, added up).
TEST(CpuOpsThreadsTest, SplitWorkGivesTheSameResults) {
  const int threads = torch::get_num_threads();
  torch::manual_seed(7);
  const torch::Tensor x = torch::randn({300000});
  torch::Tensor one_thread = x.clone();
  torch::set_num_threads(1);
  Elu_(one_thread);
  torch::set_num_threads(3);
  torch::Tensor three_threads = x.clone();
  Elu_(three_threads);
  EXPECT_TRUE(torch::equal(one_thread, three_threads));
  ExpectEmbedConvMatches(200);
  torch::set_num_threads(threads);
}

// Only the gradients asked for are formed; a frozen table gets none.
TEST(EmbedConvTest, GradientOfTheWeightsAlone) {
  torch::manual_seed(5);
  const torch::Tensor table = torch::randn({256, 3});
  const torch::Tensor weight =
      torch::randn({4, 3, 3, 3}, torch::requires_grad());
  const torch::Tensor bias = torch::randn({4});
  const torch::Tensor chars =
      torch::randint(0, 256, {2, 5, 5}).to(torch::kByte);
  const torch::Tensor got = EmbedConv(table, chars, weight, bias, 1, 1);
  const torch::Tensor want = torch::conv2d(
      torch::embedding(table, chars.to(torch::kLong)).permute({0, 3, 1, 2}),
      weight, bias, 1, 1);
  const torch::Tensor weights = torch::randn(want.sizes());
  ExpectClose(Grads(got, weights, {weight})[0],
              Grads(want, weights, {weight})[0], 1e-4, "weight gradient");
}

}  // namespace
}  // namespace lantern::core
