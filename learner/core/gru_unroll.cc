#include "learner/core/gru_unroll.h"

#include <ATen/ATen.h>
#include <c10/core/DispatchKeySet.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
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
// state, and (with `keep_cell`, always on CUDA) what the step's backward
// needs: [B, 5H] laid out as the fused kernel's workspace, r, z, n, h and
// the hidden n gate.
std::tuple<at::Tensor, at::Tensor> CellForward(const at::Tensor& input_gates,
                                               const at::Tensor& hidden_gates,
                                               const at::Tensor& h,
                                               bool keep_cell) {
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
  return {std::move(next),
          keep_cell ? at::cat({r, z, n, h, g[2]}, 1) : at::Tensor()};
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
  const at::Tensor& h = s[3];
  const at::Tensor& hidden_n = s[4];
  at::Tensor grad_h = grad * z;
  const at::Tensor dn = (grad - grad_h) * (1 - n * n);
  const at::Tensor dz = grad * (h - n) * z * (1 - z);
  const at::Tensor dr = dn * hidden_n * r * (1 - r);
  return {at::cat({dr, dz, dn}, 1), at::cat({dr, dz, dn * r}, 1),
          std::move(grad_h)};
}

// Steps the cell over all T steps in the gates' dtype (autocast is kept
// out: it would pick its own). With `saved`, also keeps what the backward
// needs: keep and the weight as computed with, the states the steps start
// from ([T, B, H]), then each step's cell workspace.
at::Tensor Steps(const at::Tensor& input_gates, const at::Tensor& keep,
                 const at::Tensor& state, const at::Tensor& weight_hh,
                 const at::Tensor& bias_hh, variable_list* saved) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const at::ScalarType dtype = input_gates.scalar_type();
  const at::Tensor weight = weight_hh.to(dtype);
  const at::Tensor bias = bias_hh.to(dtype);
  const at::Tensor keep_as = keep.to(dtype);
  const int64_t steps = input_gates.size(0);
  at::Tensor starts;
  if (saved != nullptr) {
    starts =
        at::empty({steps, state.size(0), state.size(1)}, input_gates.options());
    *saved = {keep_as, weight, starts};
  }
  std::vector<at::Tensor> outputs;
  outputs.reserve(steps);
  at::Tensor h = state.to(dtype);
  for (int64_t t = 0; t < steps; ++t) {
    at::Tensor start;
    if (saved != nullptr) {
      start = starts[t];
      at::mul_out(start, h, keep_as[t]);
    } else {
      start = h * keep_as[t];
    }
    auto [next, cell] =
        CellForward(input_gates[t], at::addmm(bias, start, weight.t()), start,
                    /*keep_cell=*/saved != nullptr);
    if (saved != nullptr) saved->push_back(std::move(cell));
    h = next;
    outputs.push_back(std::move(next));
  }
  return at::stack(outputs, 0);
}

struct GruUnrollFunction : torch::autograd::Function<GruUnrollFunction> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor input_gates,
                            at::Tensor keep, at::Tensor state,
                            at::Tensor weight_hh, at::Tensor bias_hh) {
    variable_list saved;
    at::Tensor outputs =
        Steps(input_gates, keep, state, weight_hh, bias_hh, &saved);
    ctx->save_for_backward(saved);
    ctx->saved_data["state_dtype"] = static_cast<int64_t>(state.scalar_type());
    ctx->saved_data["weight_dtype"] =
        static_cast<int64_t>(weight_hh.scalar_type());
    ctx->saved_data["bias_dtype"] = static_cast<int64_t>(bias_hh.scalar_type());
    return outputs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(
        c10::autocast_dispatch_keyset);
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
  const bool differentiable =
      c10::GradMode::is_enabled() &&
      (input_gates.requires_grad() || state.requires_grad() ||
       weight_hh.requires_grad() || bias_hh.requires_grad());
  if (!differentiable) {  // acting: nothing to keep for a backward
    return Steps(input_gates, keep, state, weight_hh, bias_hh, nullptr);
  }
  return GruUnrollFunction::apply(input_gates, keep, state, weight_hh, bias_hh);
}

}  // namespace lantern::core
