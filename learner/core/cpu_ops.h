// Ops of the policy network with kernels of their own on the CPU, where
// LibTorch's generic ones cost more than their arithmetic: the ELU after
// each layer, the character embedding, and the first convolution's
// backward to the embedding. On other devices and dtypes they are
// LibTorch's ops.
#pragma once

#include <ATen/Tensor.h>

namespace lantern::core {

// ELU (alpha 1) of x, written into x and returned; differentiable, its
// backward working from the result (x's producer must not need x for its
// own backward, as conv and linear do not). float32 CPU tensors laid out
// densely (any memory format) take the kernel; others take at::elu_.
at::Tensor Elu_(at::Tensor x);

// The rows of `table` [V, E] at uint8 `indices` of any shape (checked to
// be < V): [indices..., E]. Differentiable in `table`; the backward adds
// each index's gradient row into its table row.
at::Tensor Embed(const at::Tensor& table, const at::Tensor& indices);

// at::conv2d(Embed(table, chars) as [N, E, c, c], weight [O, E, k, k],
// bias [O] or undefined, stride, padding) for chars [N, c, c]: the output
// channels-last. Differentiable in table, weight and bias; the backward
// never forms the gradient of the embedded map (a transposed convolution,
// as costly as the convolution): it sums the output's gradient per
// (character, kernel offset) and multiplies that by the weights.
at::Tensor EmbedConv(const at::Tensor& table, const at::Tensor& chars,
                     const at::Tensor& weight, const at::Tensor& bias,
                     int64_t stride, int64_t padding);

}  // namespace lantern::core
