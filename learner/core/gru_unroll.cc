#include "learner/core/gru_unroll.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/autograd.h>

#include <tuple>
#include <utility>
#include <vector>

namespace lantern::core {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One step's gate arithmetic, given hidden_gates = h W_hh^T + b_hh: the new
// state, and what the step's backward needs ([B, 5H]).
std::tuple<at::Tensor, at::Tensor> CellForward(const at::Tensor& input_gates,
                                               const at::Tensor& hidden_gates,
                                               const at::Tensor& h) {
  if (input_gates.is_cuda()) {
    return at::_thnn_fused_gru_cell(input_gates, hidden_gates, h);
  }
  // torch's GRUCell: r, z, n = chunks; h' = n + z * (h - n).
  const auto i = input_gates.chunk(3, 1);
  const auto g = hidden_gates.chunk(3, 1);
  const at::Tensor r = at::sigmoid(i[0] + g[0]);
  const at::Tensor z = at::sigmoid(i[1] + g[1]);
  const at::Tensor n = at::tanh(i[2] + r * g[2]);
  at::Tensor next = n + z * (h - n);
  return {std::move(next), at::cat({r, z, n, g[2], h}, 1)};
}

// One step's gradients from the gradient of its new state: those of the
// input gates, of the hidden gates, and of h along the direct path only
// (the path through the hidden gates is the caller's).
std::tuple<at::Tensor, at::Tensor, at::Tensor> CellBackward(
    const at::Tensor& grad, const at::Tensor& saved) {
  if (grad.is_cuda()) {
    auto [input_gates, hidden_gates, h, unused_input_bias, unused_hidden_bias] =
        at::_thnn_fused_gru_cell_backward(grad, saved, /*has_bias=*/false);
    return {std::move(input_gates), std::move(hidden_gates), std::move(h)};
  }
  const auto s = saved.chunk(5, 1);
  const at::Tensor& r = s[0];
  const at::Tensor& z = s[1];
  const at::Tensor& n = s[2];
  const at::Tensor& hidden_n = s[3];
  const at::Tensor& h = s[4];
  at::Tensor grad_h = grad * z;
  const at::Tensor dn = (grad - grad_h) * (1 - n * n);
  const at::Tensor dz = grad * (h - n) * z * (1 - z);
  const at::Tensor dr = dn * hidden_n * r * (1 - r);
  return {at::cat({dr, dz, dn}, 1), at::cat({dr, dz, dn * r}, 1),
          std::move(grad_h)};
}

struct GruUnrollFunction : torch::autograd::Function<GruUnrollFunction> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor input_gates,
                            at::Tensor keep, at::Tensor state,
                            at::Tensor weight_hh, at::Tensor bias_hh) {
    const at::ScalarType dtype = input_gates.scalar_type();
    const at::Tensor weight = weight_hh.to(dtype);
    const at::Tensor bias = bias_hh.to(dtype);
    const at::Tensor keep_as = keep.to(dtype);
    const int64_t steps = input_gates.size(0);
    // starts[t]: the state step t starts from (zero at an episode's start).
    at::Tensor starts =
        at::empty({steps, state.size(0), state.size(1)}, input_gates.options());
    std::vector<at::Tensor> outputs;
    outputs.reserve(steps);
    variable_list saved = {keep_as, weight, starts};
    at::Tensor h = state.to(dtype);
    for (int64_t t = 0; t < steps; ++t) {
      at::Tensor start = starts[t];
      at::mul_out(start, h, keep_as[t]);
      auto [next, cell] = CellForward(
          input_gates[t], at::addmm(bias, start, weight.t()), start);
      saved.push_back(std::move(cell));
      h = next;
      outputs.push_back(std::move(next));
    }
    ctx->save_for_backward(saved);
    ctx->saved_data["state_dtype"] = static_cast<int64_t>(state.scalar_type());
    ctx->saved_data["weight_dtype"] =
        static_cast<int64_t>(weight_hh.scalar_type());
    ctx->saved_data["bias_dtype"] = static_cast<int64_t>(bias_hh.scalar_type());
    return at::stack(outputs, 0);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& keep = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& starts = saved[2];
    const int64_t steps = starts.size(0);
    const at::Tensor& grad_outputs = grads[0];
    // The gradient reaching the state after step t from the steps after it.
    at::Tensor grad_h = at::zeros_like(starts[0]);
    std::vector<at::Tensor> grad_input_gates(steps);
    std::vector<at::Tensor> grad_hidden_gates(steps);
    for (int64_t t = steps - 1; t >= 0; --t) {
      const at::Tensor grad =
          grad_outputs.defined() ? grad_outputs[t] + grad_h : grad_h;
      auto [input_gates, hidden_gates, direct] =
          CellBackward(grad, saved[3 + t]);
      grad_h = at::addmm(direct, hidden_gates, weight).mul_(keep[t]);
      grad_input_gates[t] = std::move(input_gates);
      grad_hidden_gates[t] = std::move(hidden_gates);
    }
    // All T*B steps' hidden-gate gradients against the states they started
    // from: the hidden weights' gradient in one product.
    const at::Tensor hidden =
        at::stack(grad_hidden_gates, 0).view({-1, weight.size(0)});
    const at::Tensor grad_weight =
        hidden.t().mm(starts.view({-1, weight.size(1)}));
    const auto as = [&](const at::Tensor& t, const char* key) {
      return t.to(static_cast<at::ScalarType>(ctx->saved_data[key].toInt()));
    };
    return {at::stack(grad_input_gates, 0), at::Tensor(),
            as(grad_h, "state_dtype"), as(grad_weight, "weight_dtype"),
            as(hidden.sum(0), "bias_dtype")};
  }
};

}  // namespace

at::Tensor GruUnroll(const at::Tensor& input_gates, const at::Tensor& keep,
                     const at::Tensor& state, const at::Tensor& weight_hh,
                     const at::Tensor& bias_hh) {
  TORCH_CHECK(
      weight_hh.dim() == 2 && weight_hh.size(0) == 3 * weight_hh.size(1),
      "GruUnroll: weight_hh must be [3H, H], got ", weight_hh.sizes());
  const int64_t hidden = weight_hh.size(1);
  TORCH_CHECK(input_gates.dim() == 3 && input_gates.size(2) == 3 * hidden,
              "GruUnroll: input_gates must be [T, B, ", 3 * hidden, "], got ",
              input_gates.sizes());
  const int64_t steps = input_gates.size(0);
  const int64_t batch = input_gates.size(1);
  TORCH_CHECK(steps > 0, "GruUnroll: no steps");
  TORCH_CHECK(
      state.dim() == 2 && state.size(0) == batch && state.size(1) == hidden,
      "GruUnroll: state must be [", batch, ", ", hidden, "], got ",
      state.sizes());
  TORCH_CHECK(keep.dim() == 3 && keep.size(0) == steps &&
                  keep.size(1) == batch && keep.size(2) == 1,
              "GruUnroll: keep must be [", steps, ", ", batch, ", 1], got ",
              keep.sizes());
  TORCH_CHECK(bias_hh.dim() == 1 && bias_hh.size(0) == 3 * hidden,
              "GruUnroll: bias_hh must be [", 3 * hidden, "], got ",
              bias_hh.sizes());
  return GruUnrollFunction::apply(input_gates, keep, state, weight_hh, bias_hh);
}

}  // namespace lantern::core
