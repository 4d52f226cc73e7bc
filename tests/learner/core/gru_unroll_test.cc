#include "learner/core/gru_unroll.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "learner/core/autocast.h"
#include "tests/learner/core/expect_close.h"

namespace lantern::core {
namespace {

struct Inputs {
  torch::Tensor input_gates;  // [T, B, 3H]
  torch::Tensor keep;         // [T, B, 1]
  torch::Tensor state;        // [B, H]
  torch::Tensor weight_hh;    // [3H, H]
  torch::Tensor bias_hh;      // [3H]
};

Inputs RandomInputs(int64_t steps, int64_t batch, int64_t hidden,
                    torch::TensorOptions options) {
  torch::manual_seed(7);
  const auto leaf = [&](std::vector<int64_t> shape) {
    return torch::randn(shape, options).requires_grad_(true);
  };
  Inputs in;
  in.input_gates = leaf({steps, batch, 3 * hidden});
  // Episodes start at step 0 for one env and at random steps for others.
  in.keep = (torch::rand({steps, batch, 1}, options) > 0.3).to(torch::kBool);
  in.keep[0][0][0] = false;
  in.state = leaf({batch, hidden});
  in.weight_hh = leaf({3 * hidden, hidden});
  in.bias_hh = leaf({3 * hidden});
  return in;
}

// torch's GRUCell equations stepped with plain autograd: the definition
// GruUnroll must agree with.
torch::Tensor Reference(const Inputs& in) {
  torch::Tensor h = in.state;
  std::vector<torch::Tensor> outputs;
  const auto keep = in.keep.to(h.scalar_type());
  for (int64_t t = 0; t < in.input_gates.size(0); ++t) {
    h = h * keep[t];
    const auto i = in.input_gates[t].chunk(3, 1);
    const auto g = torch::linear(h, in.weight_hh, in.bias_hh).chunk(3, 1);
    const auto r = torch::sigmoid(i[0] + g[0]);
    const auto z = torch::sigmoid(i[1] + g[1]);
    const auto n = torch::tanh(i[2] + r * g[2]);
    h = (1 - z) * n + z * h;
    outputs.push_back(h);
  }
  return torch::stack(outputs, 0);
}

std::vector<torch::Tensor> Grads(const Inputs& in, const torch::Tensor& out,
                                 const torch::Tensor& weights) {
  // Every output weighted differently, so each step's gradient counts.
  const torch::Tensor loss = (out.to(weights.scalar_type()) * weights).sum();
  return torch::autograd::grad(
      {loss}, {in.input_gates, in.state, in.weight_hh, in.bias_hh});
}

void ExpectMatchesReference(torch::TensorOptions options, double tolerance) {
  const Inputs in = RandomInputs(6, 4, 5, options);
  const torch::Tensor want = Reference(in);
  const torch::Tensor got =
      GruUnroll(in.input_gates, in.keep, in.state, in.weight_hh, in.bias_hh);
  ExpectClose(got, want, tolerance, "outputs");
  const torch::Tensor weights = torch::randn(want.sizes(), options);
  const auto want_grads = Grads(in, want, weights);
  const auto got_grads = Grads(in, got, weights);
  const char* names[] = {"input_gates", "state", "weight_hh", "bias_hh"};
  for (size_t i = 0; i < want_grads.size(); ++i) {
    ASSERT_EQ(got_grads[i].scalar_type(), want_grads[i].scalar_type())
        << names[i];
    ExpectClose(got_grads[i], want_grads[i], tolerance, names[i]);
  }
}

TEST(GruUnrollTest, MatchesTheCellSteppedByAutograd) {
  ExpectMatchesReference(torch::TensorOptions().dtype(torch::kDouble), 1e-12);
}

// The fused CUDA kernels against the same definition.
TEST(GruUnrollTest, MatchesTheCellSteppedByAutograd_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  ExpectMatchesReference(
      torch::TensorOptions().dtype(torch::kDouble).device(torch::kCUDA), 1e-10);
}

// As the learner runs it under bf16 autocast: bf16 gates, float32 state
// and parameters. Each gradient comes back in its input's dtype, close to
// the double-precision definition.
void ExpectMixedPrecisionMatches(torch::Device device) {
  const Inputs exact =
      RandomInputs(6, 4, 5, torch::TensorOptions().dtype(torch::kDouble));
  Inputs mixed;
  const auto leaf = [&](const torch::Tensor& t, torch::ScalarType dtype) {
    return t.detach().to(device, dtype).requires_grad_(true);
  };
  mixed.input_gates = leaf(exact.input_gates, torch::kBFloat16);
  mixed.keep = exact.keep.to(device);
  mixed.state = leaf(exact.state, torch::kFloat);
  mixed.weight_hh = leaf(exact.weight_hh, torch::kFloat);
  mixed.bias_hh = leaf(exact.bias_hh, torch::kFloat);
  torch::Tensor got;
  {
    CudaBf16Autocast autocast(device.is_cuda());
    got = GruUnroll(mixed.input_gates, mixed.keep, mixed.state, mixed.weight_hh,
                    mixed.bias_hh);
  }
  EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
  // The definition, fed the same bf16-rounded gates.
  Inputs rounded = exact;
  rounded.input_gates = exact.input_gates.to(torch::kBFloat16)
                            .to(torch::kDouble)
                            .detach()
                            .requires_grad_(true);
  const torch::Tensor want = Reference(rounded);
  ExpectClose(got, want, 0.05, "outputs");
  const torch::Tensor weights = torch::randn(want.sizes(), torch::kDouble);
  const auto want_grads = Grads(rounded, want, weights);
  const auto got_grads = Grads(mixed, got, weights.to(device));
  const torch::ScalarType dtypes[] = {torch::kBFloat16, torch::kFloat,
                                      torch::kFloat, torch::kFloat};
  const char* names[] = {"input_gates", "state", "weight_hh", "bias_hh"};
  for (size_t i = 0; i < want_grads.size(); ++i) {
    EXPECT_EQ(got_grads[i].scalar_type(), dtypes[i]) << names[i];
    const double scale = want_grads[i].abs().max().item<double>();
    ExpectClose(got_grads[i], want_grads[i], 0.05 * std::max(scale, 1.0),
                names[i]);
  }
}

TEST(GruUnrollTest, MixedPrecisionGivesEachInputItsDtype) {
  ExpectMixedPrecisionMatches(torch::kCPU);
}

TEST(GruUnrollTest, MixedPrecisionUnderAutocastGivesEachInputItsDtype_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  ExpectMixedPrecisionMatches(torch::kCUDA);
}

TEST(GruUnrollTest, AZeroKeepCutsTheGradientToEarlierSteps) {
  Inputs in =
      RandomInputs(4, 1, 3, torch::TensorOptions().dtype(torch::kDouble));
  in.keep.fill_(true);
  in.keep[2][0][0] = false;  // step 2 starts an episode
  const torch::Tensor out =
      GruUnroll(in.input_gates, in.keep, in.state, in.weight_hh, in.bias_hh);
  // The last output depends on steps 2 and 3 only.
  const auto grads =
      torch::autograd::grad({out[3].sum()}, {in.input_gates, in.state});
  EXPECT_EQ(grads[0].slice(0, 0, 2).abs().max().item<double>(), 0.0);
  EXPECT_GT(grads[0].slice(0, 2, 4).abs().max().item<double>(), 0.0);
  EXPECT_EQ(grads[1].abs().max().item<double>(), 0.0);
}

TEST(GruUnrollTest, RunsWithoutGradients) {
  Inputs in =
      RandomInputs(3, 2, 4, torch::TensorOptions().dtype(torch::kFloat));
  torch::NoGradGuard no_grad;
  const torch::Tensor out =
      GruUnroll(in.input_gates, in.keep, in.state, in.weight_hh, in.bias_hh);
  EXPECT_FALSE(out.requires_grad());
  ExpectClose(out, Reference(in), 1e-6, "outputs");
}

TEST(GruUnrollTest, RejectsMismatchedShapesNamingThem) {
  const Inputs in = RandomInputs(3, 2, 4, torch::TensorOptions());
  try {
    GruUnroll(in.input_gates, in.keep, in.state.slice(1, 0, 3), in.weight_hh,
              in.bias_hh);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("state must be [2, 4]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(GruUnroll(in.input_gates, in.keep.slice(0, 0, 2), in.state,
                         in.weight_hh, in.bias_hh),
               c10::Error);
  EXPECT_THROW(GruUnroll(in.input_gates.slice(2, 0, 6), in.keep, in.state,
                         in.weight_hh, in.bias_hh),
               c10::Error);
}

}  // namespace
}  // namespace lantern::core
