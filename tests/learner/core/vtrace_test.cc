#include "learner/core/vtrace.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace lantern::core {
namespace {

class VTraceTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }
};

// [T, B] from rows given time-major.
torch::Tensor TimeMajor(std::vector<std::vector<float>> rows) {
  std::vector<torch::Tensor> steps;
  for (const auto& row : rows) steps.push_back(torch::tensor(row));
  return torch::stack(steps);
}

void ExpectNear(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, /*rtol=*/1e-5, /*atol=*/1e-5))
      << "actual\n"
      << actual << "\nexpected\n"
      << expected;
}

// gamma = 0.9, rho_bar = 1.2, c_bar = 1.0. Worked by hand:
//   rhos = (2.0, 0.5, 1.1) -> rho = (1.2, 0.5, 1.1), c = (1.0, 0.5, 1.0)
//   dones = (0, 1, 0)      -> discounts = (0.9, 0, 0.9)
//   r = (1, 2, 3), V = (0.5, 1.0, 1.5), V(x_3) = 2
//   delta_2 = 1.1 * (3 + 0.9 * 2.0 - 1.5) = 3.63
//   delta_1 = 0.5 * (2 + 0 * 1.5 - 1.0)   = 0.5
//   delta_0 = 1.2 * (1 + 0.9 * 1.0 - 0.5) = 1.68
//   vs_2 = 1.5 + 3.63                     = 5.13
//   vs_1 = 1.0 + 0.5 + 0 * 0.5 * 3.63     = 1.5   (the episode ended at t=1)
//   vs_0 = 0.5 + 1.68 + 0.9 * 1.0 * 0.5   = 2.63  (c_0 clipped from 2 to 1)
//   adv_0 = 1.2 * (1 + 0.9 * 1.5 - 0.5)   = 2.22
//   adv_1 = 0.5 * (2 + 0 - 1.0)           = 0.5
//   adv_2 = 1.1 * (3 + 0.9 * 2.0 - 1.5)   = 3.63
TEST_F(VTraceTest, EpisodeEndAndClippingByHand) {
  const auto log_rhos =
      TimeMajor({{std::log(2.0f)}, {std::log(0.5f)}, {std::log(1.1f)}});
  const auto discounts = TimeMajor({{0.9f}, {0.0f}, {0.9f}});
  const auto rewards = TimeMajor({{1.0f}, {2.0f}, {3.0f}});
  const auto values = TimeMajor({{0.5f}, {1.0f}, {1.5f}});
  const auto bootstrap = torch::tensor({2.0f});

  const VTraceOutput out = VTrace(log_rhos, discounts, rewards, values,
                                  bootstrap, /*rho_bar=*/1.2, /*c_bar=*/1.0);
  ExpectNear(out.vs, TimeMajor({{2.63f}, {1.5f}, {5.13f}}));
  ExpectNear(out.pg_advantages, TimeMajor({{2.22f}, {0.5f}, {3.63f}}));
}

// Column 0: the case above with V(x_3) = 4:
//   vs_2 = 1.5 + 1.1 * (3 + 3.6 - 1.5) = 7.11, adv_2 = 5.61; t < 2 unchanged.
// Column 1: no episode end, rhos = (1.5, 3.0, 0.8) -> rho = (1.2, 1.2, 0.8),
//   c = (1.0, 1.0, 0.8); r = (0, 0, 1), V = (1, 1, 1), V(x_3) = 2:
//   delta = (1.2 * (0.9 - 1), 1.2 * (0.9 - 1), 0.8 * (1 + 1.8 - 1))
//         = (-0.12, -0.12, 1.44)
//   vs_2 = 1 + 1.44                                 = 2.44
//   vs_1 = 1 - 0.12 + 0.9 * 1.0 * 1.44              = 2.176  (c_1: 3 -> 1)
//   vs_0 = 1 - 0.12 + 0.9 * 1.0 * 1.176             = 1.9384
//   adv_0 = 1.2 * (0.9 * 2.176 - 1)                 = 1.15008
//   adv_1 = 1.2 * (0.9 * 2.44 - 1)                  = 1.4352
//   adv_2 = 0.8 * (1 + 0.9 * 2 - 1)                 = 1.44
TEST_F(VTraceTest, TwoEnvironmentsByHand) {
  const auto log_rhos = TimeMajor({{std::log(2.0f), std::log(1.5f)},
                                   {std::log(0.5f), std::log(3.0f)},
                                   {std::log(1.1f), std::log(0.8f)}});
  const auto discounts = TimeMajor({{0.9f, 0.9f}, {0.0f, 0.9f}, {0.9f, 0.9f}});
  const auto rewards = TimeMajor({{1.0f, 0.0f}, {2.0f, 0.0f}, {3.0f, 1.0f}});
  const auto values = TimeMajor({{0.5f, 1.0f}, {1.0f, 1.0f}, {1.5f, 1.0f}});
  const auto bootstrap = torch::tensor({4.0f, 2.0f});

  const VTraceOutput out = VTrace(log_rhos, discounts, rewards, values,
                                  bootstrap, /*rho_bar=*/1.2, /*c_bar=*/1.0);
  ExpectNear(out.vs,
             TimeMajor({{2.63f, 1.9384f}, {1.5f, 2.176f}, {7.11f, 2.44f}}));
  ExpectNear(out.pg_advantages,
             TimeMajor({{2.22f, 1.15008f}, {0.5f, 1.4352f}, {5.61f, 1.44f}}));
}

// On-policy without clipping, vs is the discounted return bootstrapped from
// V(x_3) = 2: vs_2 = 3 + 0.9 * 2 = 4.8, vs_1 = 2 + 0.9 * 4.8 = 6.32,
// vs_0 = 1 + 0.9 * 6.32 = 6.688; with V = 0 the advantages equal vs.
TEST_F(VTraceTest, OnPolicyIsDiscountedReturn) {
  const auto zeros = torch::zeros({3, 1});
  const auto discounts = torch::full({3, 1}, 0.9f);
  const auto rewards = TimeMajor({{1.0f}, {2.0f}, {3.0f}});
  const VTraceOutput out =
      VTrace(zeros, discounts, rewards, zeros, torch::tensor({2.0f}));
  const auto expected = TimeMajor({{6.688f}, {6.32f}, {4.8f}});
  ExpectNear(out.vs, expected);
  ExpectNear(out.pg_advantages, expected);
}

TEST_F(VTraceTest, RecordsNoGradient) {
  const auto values = torch::ones({4, 3}).requires_grad_();
  const auto log_rhos = torch::zeros({4, 3}).requires_grad_();
  const auto bootstrap = torch::ones({3}).requires_grad_();
  const VTraceOutput out = VTrace(log_rhos, torch::full({4, 3}, 0.99f),
                                  torch::ones({4, 3}), values, bootstrap);
  EXPECT_FALSE(out.vs.requires_grad());
  EXPECT_FALSE(out.pg_advantages.requires_grad());
}

TEST_F(VTraceTest, RejectsMismatchedShapes) {
  const auto x = torch::zeros({4, 3});
  EXPECT_THROW(VTrace(x, x, x, torch::zeros({4, 2}), torch::zeros({3})),
               c10::Error);
  EXPECT_THROW(VTrace(x, x, x, x, torch::zeros({2})), c10::Error);
}

}  // namespace
}  // namespace lantern::core
