#include "learner/core/appo_loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lantern::core {
namespace {

class AppoLossTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }
};

// T = 1, B = 4, A = 2; every step ends its episode (so V(x_1) = 5 is never
// used), action 0 everywhere, behaviour policy uniform. Target logits are
// log-probabilities, so pi(0|x) is exact: ratio = pi(0|x) / 0.5.
//   env                 0      1      2      3
//   pi(0|x)             0.525  0.8    0.3    0.8
//   ratio               1.05   1.6    0.6    1.6    (clip range [0.9, 1.1])
//   r, V                2, 0   2, 1   0, 1   0, 1
//   rho (rho_bar = 1)   1.0    1.0    0.6    1.0
//   adv = rho (r - V)   2      1      -0.6   -1
//   vs = V + adv        2      2      0.4    0
//   min(ratio adv, clip(ratio) adv)
//                       2.1    1.1    -0.54  -1.6
//                     (inside)(clipped)(clipped)(unclipped: ratio adv < clip)
// policy  = -(2.1 + 1.1 - 0.54 - 1.6) / 4                = -0.265
// value   = 0.5 * ((-2)^2 + (-1)^2 + 0.6^2 + 1^2) / 4     = 0.795
// entropy = (H(.525) + 2 H(.8) + H(.3)) / 4
//         = (0.6918967 + 2 * 0.5004024 + 0.6108643) / 4  = 0.5758915
// total   = -0.265 + 0.5 * 0.795 - 0.01 * 0.5758915      = 0.1267411
struct Case {
  LossInputs inputs;
  torch::Tensor target_logits;  // leaf [1, 4, 2]
  torch::Tensor values;         // leaf [1, 4]
};

Case MakeCase() {
  Case c;
  const auto probs =
      torch::tensor({0.525f, 0.475f, 0.8f, 0.2f, 0.3f, 0.7f, 0.8f, 0.2f});
  c.target_logits = probs.log().view({1, 4, 2}).requires_grad_();
  c.values =
      torch::tensor({0.0f, 1.0f, 1.0f, 1.0f}).view({1, 4}).requires_grad_();
  c.inputs.target_logits = c.target_logits;
  c.inputs.values = c.values;
  c.inputs.bootstrap_value = torch::full({4}, 5.0f);
  c.inputs.behaviour_logits = torch::zeros({1, 4, 2});
  c.inputs.actions = torch::zeros({1, 4}, torch::kLong);
  c.inputs.rewards = torch::tensor({2.0f, 2.0f, 0.0f, 0.0f}).view({1, 4});
  c.inputs.dones = torch::ones({1, 4}, torch::kUInt8);
  return c;
}

LossOptions HandOptions() {
  LossOptions options;
  options.gamma = 0.9;
  options.rho_bar = 1.0;
  options.c_bar = 1.0;
  options.clip_ratio = 0.1;
  options.value_coef = 0.5;
  options.entropy_coef = 0.01;
  options.normalize_advantages = false;
  return options;
}

TEST_F(AppoLossTest, TermsByHand) {
  const Case c = MakeCase();
  const LossTerms terms = AppoLoss(c.inputs, HandOptions());
  EXPECT_NEAR(terms.policy.item<double>(), -0.265, 1e-5);
  EXPECT_NEAR(terms.value.item<double>(), 0.795, 1e-5);
  EXPECT_NEAR(terms.entropy.item<double>(), 0.5758915, 1e-5);
  EXPECT_NEAR(terms.total.item<double>(), 0.1267411, 1e-5);
  EXPECT_NEAR(terms.mean_ratio.item<double>(), (1.05 + 1.6 + 0.6 + 1.6) / 4,
              1e-5);
  EXPECT_NEAR(terms.clip_fraction.item<double>(), 0.75, 1e-6);
  EXPECT_EQ(terms.total.dim(), 0);
}

// Policy gradient alone (value_coef = entropy_coef = 0). For action 0 with
// p = pi(0|x): d ratio / d logit_0 = ratio (1 - p), d ratio / d logit_1 =
// -ratio (1 - p) (two actions). Clipped entries get no gradient:
//   env 0: -(1/4) * 2 * 1.05 * 0.475   = -0.249375 (and +0.249375)
//   env 1, 2: clipped                  = 0
//   env 3: -(1/4) * (-1) * 1.6 * 0.2   = 0.08 (and -0.08)
TEST_F(AppoLossTest, PolicyGradientRespectsClipByHand) {
  const Case c = MakeCase();
  LossOptions options = HandOptions();
  options.value_coef = 0.0;
  options.entropy_coef = 0.0;
  AppoLoss(c.inputs, options).total.backward();
  const auto expected = torch::tensor(
      {-0.249375f, 0.249375f, 0.0f, 0.0f, 0.0f, 0.0f, 0.08f, -0.08f});
  EXPECT_TRUE(
      torch::allclose(c.target_logits.grad().view({8}), expected, 1e-5, 1e-6))
      << c.target_logits.grad();
  EXPECT_FALSE(c.values.grad().defined() &&
               c.values.grad().abs().sum().item<float>() > 0);
}

// Value gradient alone: value_coef * (V - vs) / (T B) with vs a constant:
//   0.5 * (0 - 2, 1 - 2, 1 - 0.4, 1 - 0) / 4 = (-0.25, -0.125, 0.075, 0.125)
TEST_F(AppoLossTest, ValueGradientUsesHalfSquaredError) {
  const Case c = MakeCase();
  LossOptions options = HandOptions();
  options.entropy_coef = 0.0;
  const LossTerms terms = AppoLoss(c.inputs, options);
  (options.value_coef * terms.value).backward();
  EXPECT_TRUE(torch::allclose(c.values.grad().view({4}),
                              torch::tensor({-0.25f, -0.125f, 0.075f, 0.125f}),
                              1e-5, 1e-6))
      << c.values.grad();
}

// Normalised advantages: adv = (2, 1, -0.6, -1), mean 0.35, unbiased std
// sqrt(5.87 / 3) = 1.3988090, so adv' = (1.1795749, 0.4646810, -0.6791492,
// -0.9651067). The same clip cases give
//   policy = -(1.05 * 1.1795749 + 1.1 * 0.4646810 + 0.9 * (-0.6791492)
//              + 1.6 * (-0.9651067)) / 4 = 0.1014256
TEST_F(AppoLossTest, NormalizedAdvantagesByHand) {
  const Case c = MakeCase();
  LossOptions options = HandOptions();
  options.normalize_advantages = true;
  const LossTerms terms = AppoLoss(c.inputs, options);
  EXPECT_NEAR(terms.policy.item<double>(), 0.1014256, 1e-5);
  EXPECT_NEAR(terms.value.item<double>(), 0.795, 1e-5);  // unaffected
}

// Without an episode end the bootstrap counts: on-policy, r = 1, V = 0,
// gamma = 0.9, V(x_1) = 5 -> vs = 1 + 0.9 * 5 = 5.5, value = 0.5 * 5.5^2.
// With the same step marked done, vs = 1 and value = 0.5.
TEST_F(AppoLossTest, DoneStopsBootstrap) {
  LossInputs in;
  in.target_logits = torch::zeros({1, 1, 3});
  in.behaviour_logits = torch::zeros({1, 1, 3});
  in.values = torch::zeros({1, 1});
  in.bootstrap_value = torch::full({1}, 5.0f);
  in.actions = torch::zeros({1, 1}, torch::kLong);
  in.rewards = torch::ones({1, 1});
  in.dones = torch::zeros({1, 1}, torch::kBool);
  EXPECT_NEAR(AppoLoss(in, HandOptions()).value.item<double>(), 0.5 * 5.5 * 5.5,
              1e-4);
  in.dones = torch::ones({1, 1}, torch::kBool);
  EXPECT_NEAR(AppoLoss(in, HandOptions()).value.item<double>(), 0.5, 1e-6);
}

TEST_F(AppoLossTest, RejectsMismatchedShapes) {
  Case c = MakeCase();
  c.inputs.rewards = torch::zeros({2, 4});
  EXPECT_THROW(AppoLoss(c.inputs, HandOptions()), c10::Error);
}

}  // namespace
}  // namespace lantern::core
