// The recurrent core stepped over an unroll, with its own backward.
#pragma once

#include <ATen/Tensor.h>

namespace lantern::core {

// Steps a GRU cell (torch's GRUCell equations) over T steps for B
// environments, zeroing the state before every step that starts an episode:
//   input_gates [T, B, 3H]  x_t W_ih^T + b_ih, for all steps at once
//   keep        [T, B, 1]   0 where step t starts an episode, else 1
//   state       [B, H]      the state before step 0
//   weight_hh   [3H, H], bias_hh [3H]
// Returns [T, B, H]: the state after each step (the last row is the final
// state), in input_gates' dtype; the state and the weights are cast to it.
//
// Differentiable in input_gates, state, weight_hh and bias_hh. The backward
// forms the hidden weights' gradient as one matrix product over all T*B
// steps, where autograd through a step loop forms T small ones and adds
// them up. On CUDA each step's gate arithmetic is torch's fused GRU kernel,
// forward and backward.
at::Tensor GruUnroll(const at::Tensor& input_gates, const at::Tensor& keep,
                     const at::Tensor& state, const at::Tensor& weight_hh,
                     const at::Tensor& bias_hh);

}  // namespace lantern::core
