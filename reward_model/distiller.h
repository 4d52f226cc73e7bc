// Distils annotator labels into a CaptionCnn online, as ONI's learner does
// (APPO/learner.py: update_reward_model, _update_reward_model_motif).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reward_model/caption_cnn.h"

namespace torch::optim {
class Adam;
}  // namespace torch::optim

namespace lantern::reward_model {

struct DistillerOptions {
  CaptionCnnOptions model;  // model.kind picks the examples and the loss
  double learning_rate = 1e-4;
  int64_t batch_size = 256;  // examples (ranking: pairs) per step
  // Classification: each batch draws half its examples (with replacement)
  // from the helpful ones and half from the others, while both exist. ONI
  // draws uniformly, which never learns a class of 1 % of the labels.
  bool balance_classes = false;
  // Global gradient-norm clip for ranking (ONI's Motif loop); ONI's
  // classification loop does not clip. <= 0: no clipping.
  double ranking_max_grad_norm = 10.0;
  int64_t score_batch_size = 1024;  // captions per forward pass in Score
  uint64_t seed = 0;                // minibatch sampling
  at::Device device = at::kCPU;
};

// A labelled caption: label 1 = helpful (ONI's FOO), 0 = not (BAR).
struct ClassificationExample {
  std::string caption;
  int label = 0;
};

// A labelled pair: target = P(a is preferred to b): 1 (a), 0 (b), 0.5 (tie).
struct PreferenceExample {
  std::string a;
  std::string b;
  float target = 0.5f;
};

struct TrainStats {
  int64_t steps = 0;
  double loss = 0;  // mean over the steps
  // Mean training-batch accuracy: argmax == label (classification); the
  // higher reward on the preferred side, over non-tie pairs (ranking).
  double accuracy = 0;
  double grad_norm = 0;  // mean global norm before clipping
};

// Cross-entropy of logits [B, 2] against labels [B] (int64 0/1), mean.
at::Tensor ClassificationLoss(const at::Tensor& logits,
                              const at::Tensor& labels);

// Bradley-Terry with soft targets (Motif/ONI): with p = softmax([r_a, r_b]),
// mean over the batch of -(target * log p_a + (1 - target) * log p_b).
// reward_a, reward_b, target: [B] float.
at::Tensor BradleyTerryLoss(const at::Tensor& reward_a,
                            const at::Tensor& reward_b,
                            const at::Tensor& target);

// ONI's schedule (APPO/learner.py): after a batch of labels arrives and is
// merged, train steps_per_label_batch steps while the dataset holds fewer
// than switch_labels examples (pairs, for ranking), else
// steps_after_switch. (ONI takes that one step per PPO iteration instead of
// per label batch; the reward server has no PPO iterations.)
struct TrainSchedule {
  int64_t steps_per_label_batch = 32;
  int64_t switch_labels = 25000;
  int64_t steps_after_switch = 1;
};

// Steps to train when `new_labels` labels arrive and the dataset then holds
// `total_labels` (including them). 0 when new_labels <= 0.
int64_t TrainStepsForNewLabels(int64_t new_labels, int64_t total_labels,
                               const TrainSchedule& schedule = {});

// Owns one reward model, its Adam optimiser and its labelled examples.
// Minibatches are drawn uniformly: every example when there are at most
// batch_size, else batch_size distinct ones (a shuffled loader's batch).
// Examples are appended as given (deduplication is the caller's).
// Not thread-safe: the caller serialises every call, including access to
// module() (export weights between Train and Score calls).
class Distiller {
 public:
  // Builds a freshly initialised model on options.device. Throws c10::Error
  // for invalid options.
  explicit Distiller(const DistillerOptions& options);
  ~Distiller();
  Distiller(const Distiller&) = delete;
  Distiller& operator=(const Distiller&) = delete;

  // Appends labelled examples. Throws c10::Error (adding nothing) if the
  // model kind is ranking, or a label is not 0/1.
  void AddExamples(std::span<const ClassificationExample> examples);
  // Appends labelled pairs. Throws c10::Error (adding nothing) if the model
  // kind is classification, or a target is outside [0, 1].
  void AddExamples(std::span<const PreferenceExample> examples);

  // Examples (ranking: pairs) held.
  int64_t num_examples() const;

  // Takes `steps` Adam steps on minibatches of the examples (training mode,
  // dropout on). Blocks for the whole computation. With no examples or
  // steps <= 0 it does nothing and returns zeros.
  TrainStats Train(int64_t steps);

  // Scores captions in evaluation mode without gradients, score_batch_size
  // at a time, each distinct caption once: float [N] on the CPU, P(helpful)
  // (classification) or the raw scalar reward (ranking). Blocks.
  at::Tensor Score(std::span<const std::string_view> captions);
  at::Tensor Score(std::span<const std::string> captions);
  // The same for encoded captions, uint8 [N, L] (fitted to the model's
  // caption_length, see FitCaptions), on any device; returns float [N] on
  // the model's device. Throws c10::Error on a wrong rank or dtype.
  at::Tensor ScoreEncoded(const at::Tensor& bytes);

  // The model, to export or import weights by name (caption_cnn.h lists
  // them) between calls. Imported weights keep the optimiser state.
  torch::nn::Module& module() { return *model_; }
  CaptionCnn& model() { return model_; }
  const DistillerOptions& options() const { return options_; }

  // Completed Train steps.
  int64_t num_steps() const { return num_steps_; }

 private:
  at::Tensor ScoreUnique(const at::Tensor& bytes);
  at::Tensor SampleIndices();

  DistillerOptions options_;
  CaptionCnn model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  at::Generator generator_;
  // Encoded captions, caption_length bytes each (ranking: a, b per pair).
  std::vector<uint8_t> bytes_;
  std::vector<float> targets_;  // label (0/1) or P(a preferred)
  // Classification: example indices by label, for balance_classes.
  std::vector<int64_t> helpful_;
  std::vector<int64_t> unhelpful_;
  int64_t num_steps_ = 0;
};

}  // namespace lantern::reward_model
