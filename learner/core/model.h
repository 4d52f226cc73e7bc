// The policy network shared by the actor (inference, T = 1) and the learner
// (training on unrolls).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace lantern::core {

struct ModelOptions {
  int crop = 9;          // the glyph crop is crop x crop characters
  int num_stats = 5;     // float features per step
  int message_len = 64;  // message bytes per step
  int num_actions = 5;
  int char_embedding = 16;
  // > 0: the map observation is a uint8 image [image_channels, crop, crop]
  // (pixels, scaled by 1/255) instead of a crop of characters (embedded).
  int image_channels = 0;
  std::vector<int> conv_channels = {32, 32};  // empty: no convolutions
  // Per convolution; empty: 3x3, stride 1, padded to keep the size. Given
  // (one per convolution), the convolutions are unpadded.
  std::vector<int> conv_kernels;
  std::vector<int> conv_strides;  // empty: 1; else one per convolution
  int hidden = 256;
  int stats_hidden = 64;
  int message_hidden = 64;
  bool use_rnn = false;
  int rnn_hidden = 256;
};

struct PolicyOutput {
  torch::Tensor logits;  // [T, B, A] float
  torch::Tensor values;  // [T, B] float
  torch::Tensor state;   // [B, H] state after the last step ([B, 0] w/o rnn)
};

// chars -> Embedding(256, E) (or image / 255) -> [Conv + ELU]* -> flatten
// (row, column, channel) -> Linear + ELU;
// message / 255 -> 2 x (Linear + ELU); stats -> 2 x (Linear + ELU);
// concat -> Linear + ELU -> [GRUCell] -> policy Linear(A), value Linear(1).
//
// Parameter names (named_parameters(), stable for weight export): embedding,
// conv0..convN, map_fc, message_fc1, message_fc2, stats_fc1, stats_fc2,
// core_fc, gru (only with use_rnn), policy, value; each with .weight/.bias
// (gru: weight_ih, weight_hh, bias_ih, bias_hh). There are no buffers.
//
// Not thread-safe: one thread at a time may call forward (torch modules are
// not safe to run while another thread updates their parameters).
class PolicyNetImpl : public torch::nn::Module {
 public:
  explicit PolicyNetImpl(const ModelOptions& options);

  // Runs T steps for B environments. Inputs may be on the CPU or on the
  // module's device (they are moved, observations still as uint8, and
  // converted there):
  //   chars   [T, B, crop, crop] uint8 (with image_channels:
  //           [T, B, image_channels, crop, crop] uint8 pixels)
  //   stats   [T, B, num_stats] float
  //   message [T, B, message_len] uint8
  //   first   [T, B] bool/uint8: 1 where step t starts a new episode (the
  //           recurrent state is zeroed before step t)
  //   state   [B, H] recurrent state before step 0 (ignored, may be
  //           undefined, without use_rnn)
  // Everything but the recurrent core runs on all T*B steps at once. Outputs
  // are on the module's device. Shape mismatches throw c10::Error.
  PolicyOutput forward(torch::Tensor chars, torch::Tensor stats,
                       torch::Tensor message, torch::Tensor first,
                       torch::Tensor state);

  // Zeros [batch, StateSize()] on the module's device.
  torch::Tensor InitialState(int64_t batch) const;

  // H: rnn_hidden with use_rnn, else 0.
  int64_t StateSize() const;

  // One step's map observation: {crop, crop}, or {image_channels, crop,
  // crop} with image_channels.
  std::vector<int64_t> MapShape() const;

  const ModelOptions& options() const { return options_; }

 private:
  // [N, MapShape()] u8, [N, S] f32, [N, L] u8 on the device -> [N, hidden].
  torch::Tensor Encode(const torch::Tensor& chars, const torch::Tensor& stats,
                       const torch::Tensor& message);

  // The first convolution over [N, C, c, c] pixels in 0..255, as if they
  // were scaled to 0..1 (the scale is applied to its weights).
  torch::Tensor ScaledImageConv(const torch::Tensor& pixels);

  // The first convolution over the embedded [N, c, c] characters.
  torch::Tensor CharConv(const torch::Tensor& chars);

  // Steps the GRU over T: [T, B, hidden] -> [T, B, H]; updates state. The
  // input half of every step's gates is one matrix product over all T.
  torch::Tensor RunCore(const torch::Tensor& features,
                        const torch::Tensor& first, torch::Tensor& state);

  ModelOptions options_;
  torch::nn::Embedding embedding_{nullptr};
  std::vector<torch::nn::Conv2d> convs_;
  int64_t first_stride_ = 1;   // of convs_[0]
  int64_t first_padding_ = 0;  // of convs_[0]
  torch::nn::Linear map_fc_{nullptr};
  torch::nn::Linear message_fc1_{nullptr};
  torch::nn::Linear message_fc2_{nullptr};
  torch::nn::Linear stats_fc1_{nullptr};
  torch::nn::Linear stats_fc2_{nullptr};
  torch::nn::Linear core_fc_{nullptr};
  torch::nn::GRUCell gru_{nullptr};
  torch::nn::Linear policy_{nullptr};
  torch::nn::Linear value_{nullptr};
};
TORCH_MODULE(PolicyNet);

}  // namespace lantern::core
