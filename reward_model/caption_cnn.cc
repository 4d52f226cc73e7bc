#include "reward_model/caption_cnn.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <string>

namespace lantern::reward_model {
namespace {

constexpr int64_t kNumBytes = 256;
constexpr int64_t kPool = 3;

int64_t Pool(int64_t length) { return length >= kPool ? length / kPool : 0; }

// ReLU in place: neither convolutions nor linear layers need their outputs
// for backward.
at::Tensor Relu(at::Tensor x) {
  at::relu_(x);
  return x;
}

}  // namespace

int64_t ConvOutputLength(int64_t length) {
  // Unpadded convolutions shrink by kernel - 1; pools floor-divide by 3.
  int64_t l = Pool(length - 6);  // conv1 k7, pool
  l = Pool(l - 6);               // conv2 k7, pool
  l = Pool(l - 8);               // conv3..conv6 k3, pool
  return l > 0 ? l : 0;
}

CaptionCnnImpl::CaptionCnnImpl(const CaptionCnnOptions& options)
    : options_(options),
      generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed)) {
  TORCH_CHECK(options.caption_length >= kMinCaptionLength,
              "CaptionCnn: caption_length must be at least ", kMinCaptionLength,
              ", got ", options.caption_length);
  TORCH_CHECK(options.embedding_dim > 0 && options.channels > 0 &&
                  options.encoder_dim > 0,
              "CaptionCnn: sizes must be positive");
  TORCH_CHECK(options.dropout >= 0 && options.dropout < 1,
              "CaptionCnn: dropout must be in [0, 1), got ", options.dropout);
  namespace nn = torch::nn;
  embedding_ = register_module(
      "embedding",
      nn::Embedding(nn::EmbeddingOptions(kNumBytes, options.embedding_dim)
                        .padding_idx(0)));
  const int64_t kernels[] = {7, 7, 3, 3, 3, 3};
  int64_t in = options.embedding_dim;
  for (int i = 0; i < 6; ++i) {
    convs_.push_back(register_module(
        "conv" + std::to_string(i + 1),
        nn::Conv1d(nn::Conv1dOptions(in, options.channels, kernels[i]))));
    in = options.channels;
  }
  fc_ = register_module(
      "fc",
      nn::Linear(options.channels * ConvOutputLength(options.caption_length),
                 options.encoder_dim));
  in = options.encoder_dim;
  for (size_t i = 0; i < options.hidden.size(); ++i) {
    TORCH_CHECK(options.hidden[i] > 0, "CaptionCnn: hidden must be positive");
    hidden_.push_back(register_module("hidden" + std::to_string(i + 1),
                                      nn::Linear(in, options.hidden[i])));
    in = options.hidden[i];
  }
  const int64_t outputs =
      options.kind == RewardModelKind::kClassification ? 2 : 1;
  head_ = register_module("head", nn::Linear(in, outputs));
  ResetParameters();
}

void CaptionCnnImpl::ResetParameters() {
  // PyTorch's defaults (kaiming_uniform with a = sqrt(5) reduces to
  // U(+-1/sqrt(fan_in)) for weights, and the same bound for biases), drawn
  // from our own generator: module constructors draw from the global one,
  // which other threads may be using.
  c10::NoGradGuard no_grad;
  auto uniform = [&](at::Tensor& weight, at::Tensor& bias, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    weight.uniform_(-bound, bound, generator_);
    bias.uniform_(-bound, bound, generator_);
  };
  embedding_->weight.normal_(0.0, 1.0, generator_);
  embedding_->weight[0].zero_();  // the padding byte embeds to zeros
  for (auto& conv : convs_) {
    const auto& o = conv->options;
    uniform(conv->weight, conv->bias,
            o.in_channels() * o.kernel_size()->front());
  }
  for (torch::nn::Linear* linear : {&fc_, &head_}) {
    uniform((*linear)->weight, (*linear)->bias,
            (*linear)->options.in_features());
  }
  for (auto& linear : hidden_) {
    uniform(linear->weight, linear->bias, linear->options.in_features());
  }
}

at::Tensor CaptionCnnImpl::forward(const at::Tensor& bytes) {
  TORCH_CHECK(bytes.dim() == 2 && bytes.size(1) == options_.caption_length &&
                  bytes.scalar_type() == at::kByte,
              "CaptionCnn: captions must be uint8 [N, ",
              options_.caption_length, "], got ", bytes.scalar_type(), " ",
              bytes.sizes());
  const at::Device device = head_->weight.device();
  // uint8 -> int64 indices only here, after the transfer.
  at::Tensor x = embedding_(bytes.to(device).to(at::kLong));  // [N, L, E]
  x = x.transpose(1, 2).contiguous();                         // [N, E, L]
  x = at::max_pool1d(Relu(convs_[0](x)), {kPool}, {kPool});
  x = at::max_pool1d(Relu(convs_[1](x)), {kPool}, {kPool});
  for (size_t i = 2; i < convs_.size(); ++i) x = Relu(convs_[i](x));
  x = at::max_pool1d(x, {kPool}, {kPool});
  x = Relu(fc_(x.flatten(1)));  // channel-major, as ONI's view
  for (auto& linear : hidden_) x = Relu(linear(x));
  const double p = options_.dropout;
  if (is_training() && p > 0) {
    if (x.is_cpu()) {
      x = x * at::empty_like(x).bernoulli_(1.0 - p, generator_).div_(1.0 - p);
    } else {
      x = at::dropout(x, p, /*train=*/true);
    }
  }
  x = head_(x);
  return options_.kind == RewardModelKind::kRanking ? x.squeeze(1) : x;
}

}  // namespace lantern::reward_model
