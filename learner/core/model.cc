#include "learner/core/model.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <string>
#include <vector>

#include "learner/core/autocast.h"
#include "learner/core/cpu_ops.h"
#include "learner/core/gru_unroll.h"

namespace lantern::core {
namespace {

// The dtype a convolution computes in: bf16 under CUDA bf16 autocast.
at::ScalarType ImageDtype(const torch::Tensor& pixels) {
  return pixels.is_cuda() && CudaBf16AutocastEnabled() ? at::kBFloat16
                                                       : at::kFloat;
}

}  // namespace

PolicyNetImpl::PolicyNetImpl(const ModelOptions& options) : options_(options) {
  TORCH_CHECK(options.crop > 0 && options.num_stats > 0 &&
                  options.message_len > 0 && options.num_actions > 0 &&
                  options.char_embedding > 0 && options.hidden > 0 &&
                  options.stats_hidden > 0 && options.message_hidden > 0 &&
                  (!options.use_rnn || options.rnn_hidden > 0),
              "PolicyNet: every size in ModelOptions must be positive");
  namespace nn = torch::nn;
  const size_t num_convs = options.conv_channels.size();
  TORCH_CHECK(options.image_channels >= 0,
              "PolicyNet: image_channels must be >= 0");
  TORCH_CHECK(
      options.conv_kernels.empty() || options.conv_kernels.size() == num_convs,
      "PolicyNet: conv_kernels needs one kernel size per convolution");
  TORCH_CHECK(
      options.conv_strides.empty() || options.conv_strides.size() == num_convs,
      "PolicyNet: conv_strides needs one stride per convolution");
  int64_t channels = options.char_embedding;
  if (options.image_channels > 0) {
    channels = options.image_channels;
  } else {
    embedding_ = register_module("embedding",
                                 nn::Embedding(256, options.char_embedding));
  }
  int64_t side = options.crop;  // of the feature map after each convolution
  for (size_t i = 0; i < num_convs; ++i) {
    const bool padded = options.conv_kernels.empty();
    const int64_t kernel = padded ? 3 : options.conv_kernels[i];
    const int64_t stride =
        options.conv_strides.empty() ? 1 : options.conv_strides[i];
    TORCH_CHECK(options.conv_channels[i] > 0 && kernel > 0 && stride > 0,
                "PolicyNet: conv channels, kernels and strides must be "
                "positive");
    side = (side + (padded ? 2 : 0) - kernel) / stride + 1;
    TORCH_CHECK(side > 0, "PolicyNet: convolution ", i, " (kernel ", kernel,
                ", stride ", stride, ") leaves nothing of a ", options.crop,
                "-wide crop");
    convs_.push_back(register_module(
        "conv" + std::to_string(i),
        nn::Conv2d(nn::Conv2dOptions(channels, options.conv_channels[i], kernel)
                       .stride(stride)
                       .padding(padded ? 1 : 0))));
    channels = options.conv_channels[i];
    if (i == 0) {
      first_stride_ = stride;
      first_padding_ = padded ? 1 : 0;
    }
  }
  const int64_t cells = side * side;
  map_fc_ =
      register_module("map_fc", nn::Linear(channels * cells, options.hidden));
  message_fc1_ = register_module(
      "message_fc1", nn::Linear(options.message_len, options.message_hidden));
  message_fc2_ = register_module(
      "message_fc2",
      nn::Linear(options.message_hidden, options.message_hidden));
  stats_fc1_ = register_module(
      "stats_fc1", nn::Linear(options.num_stats, options.stats_hidden));
  stats_fc2_ = register_module(
      "stats_fc2", nn::Linear(options.stats_hidden, options.stats_hidden));
  core_fc_ = register_module(
      "core_fc",
      nn::Linear(options.hidden + options.message_hidden + options.stats_hidden,
                 options.hidden));
  int64_t head_in = options.hidden;
  if (options.use_rnn) {
    gru_ =
        register_module("gru", nn::GRUCell(options.hidden, options.rnn_hidden));
    head_in = options.rnn_hidden;
  }
  policy_ = register_module("policy", nn::Linear(head_in, options.num_actions));
  value_ = register_module("value", nn::Linear(head_in, 1));
}

torch::Tensor PolicyNetImpl::Encode(const torch::Tensor& chars,
                                    const torch::Tensor& stats,
                                    const torch::Tensor& message) {
  const int64_t n = chars.size(0);
  torch::Tensor x;  // [N, channels, rows, columns]
  if (options_.image_channels > 0) {
    // Pixels go from uint8 to the dtype the convolutions compute in (bf16
    // under autocast: no float32 copy of the images) in one pass, on a GPU
    // into the channels-last layout that cuDNN's tensor-core convolutions
    // prefer (the flattening below then needs no copy). Their 1/255 scale
    // is folded into the first convolution's weights (ScaledImageConv)
    // rather than being a pass over the images of its own.
    x = at::empty(chars.sizes(), chars.options().dtype(ImageDtype(chars)),
                  chars.is_cuda() ? at::MemoryFormat::ChannelsLast
                                  : at::MemoryFormat::Contiguous)
            .copy_(chars);  // [N, C, c, c]
    x = convs_.empty() ? x.mul_(1.0 / 255.0) : Elu_(ScaledImageConv(x));
  } else if (convs_.empty()) {
    // [N, c, c, E] viewed as [N, E, c, c] with channels-last strides, as
    // the convolutions below give them.
    x = Embed(embedding_->weight, chars).permute({0, 3, 1, 2});
  } else {
    // The CPU (oneDNN) convolutions keep the channels-last layout that the
    // first one gives; flattening in (c, c, C) order then needs no copy
    // forward or backward (on other layouts reshape copies, still
    // correct). Measured: ~25% faster per update than NCHW-contiguous.
    x = Elu_(CharConv(chars));
  }
  for (size_t i = 1; i < convs_.size(); ++i) x = Elu_(convs_[i](x));
  x = x.permute({0, 2, 3, 1});  // [N, rows, columns, channels]
  x = Elu_(map_fc_(x.reshape({n, -1})));

  // uint8 / double promotes to float32 in one kernel.
  const torch::Tensor m = message.div(255.0);
  const torch::Tensor msg = Elu_(message_fc2_(Elu_(message_fc1_(m))));
  const torch::Tensor st =
      Elu_(stats_fc2_(Elu_(stats_fc1_(stats.to(at::kFloat)))));
  return Elu_(core_fc_(at::cat({x, msg, st}, 1)));
}

torch::Tensor PolicyNetImpl::ScaledImageConv(const torch::Tensor& pixels) {
  const torch::nn::Conv2d& conv = convs_[0];
  return at::conv2d(pixels, conv->weight * (1.0 / 255.0), conv->bias,
                    first_stride_, first_padding_);
}

torch::Tensor PolicyNetImpl::CharConv(const torch::Tensor& chars) {
  const torch::nn::Conv2d& conv = convs_[0];
  return EmbedConv(embedding_->weight, chars, conv->weight, conv->bias,
                   first_stride_, first_padding_);
}

torch::Tensor PolicyNetImpl::RunCore(const torch::Tensor& features,
                                     const torch::Tensor& first,
                                     torch::Tensor& state) {
  // The input half of the gates for all T steps in one product; each step
  // then multiplies only the state (what cuDNN's GRU does inside). Under
  // autocast the gates come out in the lower precision; the state follows
  // them, as torch's autocast GRUCell does.
  const torch::Tensor input_gates =
      at::linear(features, gru_->weight_ih, gru_->bias_ih);  // [T, B, 3H]
  // keep[t] = 0 where step t starts an episode: zero the state before it.
  const torch::Tensor outputs =
      GruUnroll(input_gates, first.eq(0).unsqueeze(-1), state, gru_->weight_hh,
                gru_->bias_hh);
  state = outputs[outputs.size(0) - 1];
  return outputs;
}

PolicyOutput PolicyNetImpl::forward(torch::Tensor chars, torch::Tensor stats,
                                    torch::Tensor message, torch::Tensor first,
                                    torch::Tensor state) {
  const std::vector<int64_t> map_shape = MapShape();
  TORCH_CHECK(chars.dim() == 2 + static_cast<int64_t>(map_shape.size()) &&
                  chars.sizes().slice(2).vec() == map_shape,
              "PolicyNet: chars must be [T, B, ", at::IntArrayRef(map_shape),
              "], got ", chars.sizes());
  const int64_t steps = chars.size(0);
  const int64_t batch = chars.size(1);
  TORCH_CHECK(stats.dim() == 3 && stats.size(0) == steps &&
                  stats.size(1) == batch && stats.size(2) == options_.num_stats,
              "PolicyNet: stats must be [T, B, ", options_.num_stats, "], got ",
              stats.sizes());
  TORCH_CHECK(message.dim() == 3 && message.size(0) == steps &&
                  message.size(1) == batch &&
                  message.size(2) == options_.message_len,
              "PolicyNet: message must be [T, B, ", options_.message_len,
              "], got ", message.sizes());
  const at::Device device = policy_->weight.device();
  const int64_t n = steps * batch;
  std::vector<int64_t> flat_map = map_shape;
  flat_map.insert(flat_map.begin(), n);
  torch::Tensor features =
      Encode(chars.to(device).reshape(flat_map),
             stats.to(device).reshape({n, options_.num_stats}),
             message.to(device).reshape({n, options_.message_len}));

  PolicyOutput out;
  if (options_.use_rnn) {
    TORCH_CHECK(
        first.dim() == 2 && first.size(0) == steps && first.size(1) == batch,
        "PolicyNet: first must be [T, B], got ", first.sizes());
    TORCH_CHECK(state.dim() == 2 && state.size(0) == batch &&
                    state.size(1) == options_.rnn_hidden,
                "PolicyNet: state must be [B, ", options_.rnn_hidden, "], got ",
                state.sizes());
    state = state.to(device, at::kFloat);
    features =
        RunCore(features.view({steps, batch, -1}), first.to(device), state)
            .view({n, -1});
    out.state = std::move(state);
  } else {
    out.state = at::zeros({batch, 0}, features.options());
  }
  out.logits = policy_(features).view({steps, batch, -1});
  out.values = value_(features).view({steps, batch});
  return out;
}

torch::Tensor PolicyNetImpl::InitialState(int64_t batch) const {
  return at::zeros({batch, StateSize()}, policy_->weight.options());
}

std::vector<int64_t> PolicyNetImpl::MapShape() const {
  if (options_.image_channels > 0) {
    return {options_.image_channels, options_.crop, options_.crop};
  }
  return {options_.crop, options_.crop};
}

int64_t PolicyNetImpl::StateSize() const {
  return options_.use_rnn ? options_.rnn_hidden : 0;
}

}  // namespace lantern::core
