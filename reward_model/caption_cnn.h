// ONI's char-level CNN over caption bytes (rlaif/reward_model.py,
// ClassificationRewardModel), with a classification or a ranking head.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "reward_model/captions.h"

namespace lantern::reward_model {

enum class RewardModelKind {
  kClassification,  // 2 logits: [unhelpful, helpful], cross-entropy
  kRanking,         // 1 scalar reward, Bradley-Terry on pairs
};

// Defaults are ONI's. ONI's ranking model (Motif's TorchBeastEncoder with
// lt_cnn) has the same char-CNN but an MLP of [256, 512] without dropout and
// a ReLU before its scalar head; hidden = {256, 512}, dropout = 0 gives that.
struct CaptionCnnOptions {
  RewardModelKind kind = RewardModelKind::kClassification;
  int64_t caption_length = kOniCaptionLength;  // >= kMinCaptionLength
  int64_t embedding_dim = 32;
  int64_t channels = 64;      // every Conv1d's output channels
  int64_t encoder_dim = 128;  // the Linear after the flatten
  std::vector<int64_t> hidden = {512, 512};
  double dropout = 0.1;  // once, after the last hidden layer (as ONI)
  uint64_t seed = 0;     // initialisation and dropout masks
};

// The shortest caption length the conv/pool stack accepts (one position
// left after the last pool).
inline constexpr int64_t kMinCaptionLength = 123;

// Positions left after the conv/pool stack for a caption of `length` bytes
// (5 for 256, so the flatten has 5 * channels = 320 features); 0 when
// length < kMinCaptionLength.
int64_t ConvOutputLength(int64_t length);

// bytes -> Embedding(256, E, padding_idx 0) -> Conv1d(E, C, 7) -> ReLU ->
// MaxPool(3) -> Conv1d(C, C, 7) -> ReLU -> MaxPool(3) -> 4 x [Conv1d(C, C, 3)
// -> ReLU] -> MaxPool(3) -> flatten -> Linear(encoder_dim) -> ReLU ->
// [Linear(h) -> ReLU]* -> Dropout -> head Linear(2 or 1).
//
// Parameter names (named_parameters(), stable for weight export):
// embedding.weight, conv1..conv6, fc, hidden1..hidden<K>, head, each with
// .weight and .bias. There are no buffers.
//
// Initialisation is PyTorch's default (uniform +-1/sqrt(fan_in) for conv and
// linear weights and biases, N(0, 1) for the embedding with row 0 zeroed)
// drawn from a generator seeded with options.seed, so equal seeds give equal
// weights whatever the global torch seed. Dropout masks come from the same
// generator on CPU (from the device's default generator elsewhere).
//
// Not thread-safe: one thread at a time may call forward or change the
// parameters.
class CaptionCnnImpl : public torch::nn::Module {
 public:
  // Throws c10::Error for non-positive sizes, caption_length <
  // kMinCaptionLength or dropout outside [0, 1).
  explicit CaptionCnnImpl(const CaptionCnnOptions& options);

  // bytes: uint8 [N, caption_length] on the CPU or the module's device
  // (moved there). Returns, on the module's device: classification logits
  // [N, 2] (column 1 = helpful), or ranking rewards [N]. Dropout is active
  // in training mode only. Throws c10::Error on a wrong shape or dtype.
  at::Tensor forward(const at::Tensor& bytes);

  const CaptionCnnOptions& options() const { return options_; }

 private:
  void ResetParameters();

  CaptionCnnOptions options_;
  at::Generator generator_;
  torch::nn::Embedding embedding_{nullptr};
  std::vector<torch::nn::Conv1d> convs_;
  torch::nn::Linear fc_{nullptr};
  std::vector<torch::nn::Linear> hidden_;
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(CaptionCnn);

}  // namespace lantern::reward_model
