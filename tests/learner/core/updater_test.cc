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

// The optimizer works on flat buffers: a step changes the model's own
// parameter tensors (they are views), and after Load they still are.
TEST_F(UpdaterTest, ParametersStayViewsOfTheOptimizersBuffer) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/false);
  Updater updater(o, UpdateOptions(), torch::kCPU);
  torch::Tensor first = updater.model()->parameters()[0];
  const torch::Tensor before = first.detach().clone();
  updater.Step(EpisodicBatch(o, 4, 2));
  EXPECT_FALSE(torch::equal(first.detach(), before));

  std::stringstream archive;
  updater.Save(archive);
  Updater restored(o, UpdateOptions(), torch::kCPU);
  restored.Load(archive);
  first = restored.model()->parameters()[0];
  const torch::Tensor loaded = first.detach().clone();
  restored.Step(EpisodicBatch(o, 4, 2));
  EXPECT_FALSE(torch::equal(first.detach(), loaded));
  EXPECT_EQ(restored.num_updates(), 2);
}

TEST_F(UpdaterTest, RejectsAnArchiveWithoutTheOptimizerState) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/false);
  Updater updater(o, UpdateOptions(), torch::kCPU);
  torch::serialize::OutputArchive model_archive;
  updater.model()->save(model_archive);
  torch::serialize::OutputArchive archive;
  archive.write("model", model_archive);
  archive.write("num_updates", torch::scalar_tensor(3, torch::kLong));
  std::stringstream stream;
  archive.save_to(stream);
  try {
    updater.Load(stream);
    FAIL() << "Load accepted an archive without Adam's state";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no optimizer state"),
              std::string::npos)
        << e.what();
  }
}

// A checkpoint from before FlatAdam (torch::optim::Adam's archive, written
// by hand here the way the old Updater::Save did) resumes where that Adam
// would have gone on.
TEST_F(UpdaterTest, LoadsTheOldTorchAdamArchive) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/true);
  const UpdateOptions u;
  PolicyNet reference(o);
  torch::optim::Adam adam(
      reference->parameters(),
      torch::optim::AdamOptions(u.learning_rate).eps(u.adam_eps));
  const auto reference_step = [&](const Batch& b) {
    const int64_t steps = b.actions.size(0);
    const auto first = torch::cat(
        {torch::zeros({1, b.actions.size(1)}, torch::kUInt8), b.dones});
    const PolicyOutput out =
        reference->forward(b.chars, b.stats, b.message, first, b.initial_state);
    LossInputs in;
    in.target_logits = out.logits.slice(0, 0, steps);
    in.values = out.values.slice(0, 0, steps);
    in.bootstrap_value = out.values[steps].detach();
    in.behaviour_logits = b.behaviour_logits;
    in.actions = b.actions;
    in.rewards = b.rewards;
    in.dones = b.dones;
    adam.zero_grad();
    AppoLoss(in, u.loss).total.backward();
    torch::nn::utils::clip_grad_norm_(reference->parameters(), u.max_grad_norm);
    adam.step();
  };
  for (int i = 0; i < 3; ++i) reference_step(EpisodicBatch(o, 4, 2));

  torch::serialize::OutputArchive model_archive;
  reference->save(model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  adam.save(optimizer_archive);
  torch::serialize::OutputArchive archive;
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("num_updates", torch::scalar_tensor(3, torch::kLong));
  std::stringstream stream;
  archive.save_to(stream);

  Updater restored(o, u, torch::kCPU);
  restored.Load(stream);
  EXPECT_EQ(restored.num_updates(), 3);
  for (int i = 0; i < 2; ++i) {
    const Batch b = EpisodicBatch(o, 4, 2);
    restored.Step(b);
    reference_step(b);
  }
  ExpectSameParameters(Snapshot(restored.model()), Snapshot(reference), 1e-5);
}

TEST_F(UpdaterTest, CudaOnlyOptions) {
  const ModelOptions o = TinyOptions(/*use_rnn=*/false);
  UpdateOptions u;
  u.bf16 = true;
  EXPECT_THROW(Updater(o, u, torch::kCPU), c10::Error);
  u.bf16 = false;
  u.cuda_graph = true;  // ignored on the CPU
  Updater updater(o, u, torch::kCPU);
  updater.Step(EpisodicBatch(o, 4, 2));
  EXPECT_FALSE(updater.graph_captured());
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

// The graphed update replays what the eager one computes: same losses and
// weights over updates on different batches, through capture (update 4)
// and replays, and again after the batch shape changes.
TEST_F(UpdaterTest, GraphReplaysTheEagerUpdate_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const ModelOptions o = TinyOptions(/*use_rnn=*/true);
  std::vector<Batch> batches;
  for (int i = 0; i < 7; ++i) batches.push_back(EpisodicBatch(o, 6, 4));
  for (int i = 0; i < 5; ++i) batches.push_back(EpisodicBatch(o, 6, 8));
  const torch::Device cuda(torch::kCUDA, 0);
  UpdateOptions eager_options;
  UpdateOptions graph_options;
  graph_options.cuda_graph = true;
  torch::manual_seed(3);
  Updater eager(o, eager_options, cuda);
  torch::manual_seed(3);
  Updater graphed(o, graph_options, cuda);
  for (size_t i = 0; i < batches.size(); ++i) {
    const UpdateStats a = eager.Step(batches[i]);
    const UpdateStats b = graphed.Step(batches[i]);
    EXPECT_NEAR(a.total_loss, b.total_loss, 1e-5) << "update " << i;
  }
  EXPECT_TRUE(graphed.graph_captured());
  ExpectSameParameters(Snapshot(graphed.model()), Snapshot(eager.model()),
                       1e-5);
}

}  // namespace
}  // namespace lantern::core
