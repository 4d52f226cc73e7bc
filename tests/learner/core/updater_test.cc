#include "learner/core/updater.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "learner/core/random_batch.h"

namespace lantern::core {
namespace {

class UpdaterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    torch::manual_seed(11);
  }
};

ModelOptions TinyOptions(bool use_rnn) {
  ModelOptions o;
  o.crop = 3;
  o.num_stats = 4;
  o.message_len = 4;
  o.num_actions = 4;
  o.char_embedding = 4;
  o.conv_channels = {4};
  o.hidden = 32;
  o.stats_hidden = 16;
  o.message_hidden = 8;
  o.use_rnn = use_rnn;
  o.rnn_hidden = 16;
  return o;
}

// Frequent episode ends exercise the done masks.
Batch EpisodicBatch(const ModelOptions& o, int64_t steps, int64_t envs) {
  return RandomBatch(o, steps, envs, /*done_rate=*/0.2);
}

std::vector<torch::Tensor> Snapshot(const PolicyNet& net) {
  std::vector<torch::Tensor> out;
  for (const auto& p : net->parameters()) out.push_back(p.detach().clone());
  return out;
}

void ExpectSameParameters(const std::vector<torch::Tensor>& a,
                          const std::vector<torch::Tensor>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i].cpu(), b[i].cpu(), tol, tol))
        << "parameter " << i << " differs";
  }
}

// Contextual bandit: stats is the one-hot context c in {0..3}; action c pays
// 1, any other 0; every step is a whole episode. The actor's policy is the
// current network (behaviour logits = its logits).
TEST_F(UpdaterTest, LearnsContextualBandit) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/false);
  UpdateOptions u;
  u.learning_rate = 3e-3;
  Updater updater(o, u, torch::kCPU);
  const int64_t steps = 4;
  const int64_t envs = 16;

  double first_reward = 0;
  double last_reward = 0;
  for (int iteration = 0; iteration < 300; ++iteration) {
    Batch b;
    const auto context = torch::randint(0, 4, {steps + 1, envs}, torch::kLong);
    b.chars = torch::zeros({steps + 1, envs, o.crop, o.crop}, torch::kUInt8);
    b.message = torch::zeros({steps + 1, envs, o.message_len}, torch::kUInt8);
    b.stats = torch::one_hot(context, 4).to(torch::kFloat);
    b.dones = torch::ones({steps, envs}, torch::kUInt8);
    {
      torch::NoGradGuard no_grad;
      const PolicyOutput out = updater.model()->forward(
          b.chars, b.stats, b.message, torch::ones({steps + 1, envs}), {});
      b.behaviour_logits = out.logits.slice(0, 0, steps);
    }
    b.actions = torch::multinomial(
                    torch::softmax(b.behaviour_logits, -1).view({-1, 4}), 1)
                    .view({steps, envs});
    b.rewards = b.actions.eq(context.slice(0, 0, steps)).to(torch::kFloat);
    const double mean_reward = b.rewards.mean().item<double>();
    if (iteration < 20) first_reward += mean_reward / 20;
    if (iteration >= 280) last_reward += mean_reward / 20;

    const UpdateStats stats = updater.Step(b);
    ASSERT_TRUE(std::isfinite(stats.total_loss));
    EXPECT_EQ(stats.samples, steps * envs);
  }
  EXPECT_EQ(updater.num_updates(), 300);
  EXPECT_LT(first_reward, 0.5);
  EXPECT_GT(last_reward, 0.9);

  // Greedy policy picks the right arm in every context.
  torch::NoGradGuard no_grad;
  const auto context = torch::arange(4).view({1, 4});
  const PolicyOutput out = updater.model()->forward(
      torch::zeros({1, 4, o.crop, o.crop}, torch::kUInt8),
      torch::one_hot(context, 4).to(torch::kFloat),
      torch::zeros({1, 4, o.message_len}, torch::kUInt8), torch::ones({1, 4}),
      {});
  EXPECT_TRUE(out.logits.argmax(-1).equal(context)) << out.logits;
}

// Step equals the same update wired by hand with torch's own
// clip_grad_norm_ (clipping active: max_grad_norm is tiny).
TEST_F(UpdaterTest, StepMatchesReferenceUpdate) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/true);
  UpdateOptions u;
  u.max_grad_norm = 0.05;
  Updater updater(o, u, torch::kCPU);
  PolicyNet reference(o);
  {
    torch::NoGradGuard no_grad;
    const auto source = updater.model()->parameters();
    const auto target = reference->parameters();
    for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
  }
  torch::optim::Adam adam(
      reference->parameters(),
      torch::optim::AdamOptions(u.learning_rate).eps(u.adam_eps));

  for (int i = 0; i < 2; ++i) {
    const Batch b = EpisodicBatch(o, 5, 3);
    const UpdateStats stats = updater.Step(b);

    const auto first =
        torch::cat({torch::zeros({1, 3}, torch::kUInt8), b.dones});
    const PolicyOutput out =
        reference->forward(b.chars, b.stats, b.message, first, b.initial_state);
    LossInputs in;
    in.target_logits = out.logits.slice(0, 0, 5);
    in.values = out.values.slice(0, 0, 5);
    in.bootstrap_value = out.values[5].detach();
    in.behaviour_logits = b.behaviour_logits;
    in.actions = b.actions;
    in.rewards = b.rewards;
    in.dones = b.dones;
    const LossTerms terms = AppoLoss(in, u.loss);
    adam.zero_grad();
    terms.total.backward();
    const double norm = torch::nn::utils::clip_grad_norm_(
        reference->parameters(), u.max_grad_norm);
    adam.step();

    EXPECT_NEAR(stats.total_loss, terms.total.item<double>(), 1e-5);
    EXPECT_NEAR(stats.grad_norm, norm, 1e-4 * norm);
    EXPECT_GT(stats.grad_norm, u.max_grad_norm);
    EXPECT_NEAR(stats.mean_value, in.values.mean().item<double>(), 1e-5);
    ExpectSameParameters(Snapshot(updater.model()), Snapshot(reference), 1e-5);
  }
}

// Save, then continue; a second Updater that loads the archive and continues
// with the same batches ends bit-for-bit (up to float noise) in the same
// place: weights, Adam moments and the update count all round-trip.
TEST_F(UpdaterTest, SaveLoadRoundTrip) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/true);
  const UpdateOptions u;
  Updater original(o, u, torch::kCPU);
  for (int i = 0; i < 3; ++i) original.Step(EpisodicBatch(o, 4, 2));
  std::stringstream archive;
  original.Save(archive);
  const auto saved = Snapshot(original.model());

  const std::vector<Batch> more = {EpisodicBatch(o, 4, 2),
                                   EpisodicBatch(o, 4, 2)};
  for (const auto& b : more) original.Step(b);

  Updater restored(o, u, torch::kCPU);
  EXPECT_EQ(restored.num_updates(), 0);
  restored.Load(archive);
  EXPECT_EQ(restored.num_updates(), 3);
  ExpectSameParameters(Snapshot(restored.model()), saved, 0.0);
  for (const auto& b : more) restored.Step(b);
  EXPECT_EQ(restored.num_updates(), 5);
  ExpectSameParameters(Snapshot(restored.model()), Snapshot(original.model()),
                       1e-6);

  // A fresh optimizer (weights only) would not land there: Adam's moments
  // matter, so the comparison above has teeth.
  Updater weights_only(o, u, torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    const auto source = saved;
    const auto target = weights_only.model()->parameters();
    for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
  }
  for (const auto& b : more) weights_only.Step(b);
  const auto a = Snapshot(weights_only.model());
  const auto b = Snapshot(original.model());
  bool all_equal = true;
  for (size_t i = 0; i < a.size(); ++i) {
    all_equal = all_equal && torch::allclose(a[i], b[i], 1e-6, 1e-6);
  }
  EXPECT_FALSE(all_equal);
}

TEST_F(UpdaterTest, RejectsMalformedBatch) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/false);
  Updater updater(o, UpdateOptions(), torch::kCPU);
  Batch b = EpisodicBatch(o, 4, 2);
  b.chars = b.chars.slice(0, 0, 4);  // T observations instead of T+1
  EXPECT_THROW(updater.Step(b), c10::Error);
  EXPECT_EQ(updater.num_updates(), 0);
}

// A CPU batch stepped on CUDA gives the same update as on the CPU (weights
// moved over with Save/Load, which also checks loading across devices).
TEST_F(UpdaterTest, StepOnCuda_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const ModelOptions o = TinyOptions(/*use_rnn=*/true);
  UpdateOptions u;
  Updater cpu(o, u, torch::kCPU);
  Updater gpu(o, u, torch::Device(torch::kCUDA, 0));
  std::stringstream archive;
  cpu.Save(archive);
  gpu.Load(archive);
  EXPECT_TRUE(gpu.model()->parameters()[0].is_cuda());

  const Batch b = EpisodicBatch(o, 8, 4);
  const UpdateStats on_cpu = cpu.Step(b);
  const UpdateStats on_gpu = gpu.Step(b);
  EXPECT_NEAR(on_gpu.total_loss, on_cpu.total_loss, 1e-4);
  EXPECT_NEAR(on_gpu.grad_norm, on_cpu.grad_norm, 1e-3 * on_cpu.grad_norm);
  EXPECT_EQ(on_gpu.samples, 32);
  ExpectSameParameters(Snapshot(gpu.model()), Snapshot(cpu.model()), 1e-4);
}

}  // namespace
}  // namespace lantern::core
