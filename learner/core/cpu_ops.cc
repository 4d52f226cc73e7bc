#include "learner/core/cpu_ops.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/saved_variable.h>
#include <torch/csrc/autograd/variable.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace lantern::core {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The kernels below are plain loops that GCC vectorises; on x86-64 each is
// also built for AVX2 + FMA and for AVX-512, the widest the CPU has being
// picked at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LANTERN_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LANTERN_VECTOR_CLONES
#endif

// exp(x) - 1 for x <= 0 to within ~2 float ulps, branch-free so that it
// vectorises: x = k ln2 + r with |r| <= ln2/2, expm1(r) by its Taylor
// series to r^7 (the next term is below 2e-8 of the result), then
// 2^k (1 + p) - 1 = 2^k p + (2^k - 1), which keeps the relative precision
// near 0 (k = 0 there) that exp(x) - 1 would lose.
inline float Expm1NonPositive(float x) {
  x = std::max(x, -87.0f);  // exp(-87) is below float's resolution at -1
  // Adding 1.5 * 2^23 rounds x / ln2 to the nearest integer k, which then
  // sits in the low bits of t.
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float k = t - 12582912.0f;
  // ln2 in two parts, the first exact in few bits so k * it is exact.
  const float r = (x - k * 0.693145751953125f) - k * 1.428606765330187e-6f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r;  // expm1(r)
  const int32_t exponent = std::bit_cast<int32_t>(t) - 0x4B400000 + 127;
  const float two_k = std::bit_cast<float>(exponent << 23);  // k >= -126
  return two_k * p + (two_k - 1.0f);
}

LANTERN_VECTOR_CLONES
void EluInPlace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float negative = Expm1NonPositive(std::min(v, 0.0f));
    x[i] = v > 0.0f ? v : negative;
  }
}

// d elu(x) / dx = 1 for x > 0, exp(x) = elu(x) + 1 otherwise.
LANTERN_VECTOR_CLONES
void EluBackward(const float* grad, const float* result, float* out,
                 int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float y = result[i];
    out[i] = y > 0.0f ? grad[i] : grad[i] * (y + 1.0f);
  }
}

// out[i] = table[indices[i]]: rows of `width` floats.
void Gather(const float* table, const uint8_t* indices, int64_t n,
            int64_t width, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(table + indices[i] * width, width, out + i * width);
  }
}

// to[i] += from[i]; inlined into the callers' clones.
__attribute__((always_inline)) inline void AddRow(float* __restrict to,
                                                  const float* __restrict from,
                                                  int64_t n) {
  for (int64_t i = 0; i < n; ++i) to[i] += from[i];
}

// table[indices[i]] += grad[i]: rows of `width` floats.
LANTERN_VECTOR_CLONES
void ScatterAdd(const float* grad, const uint8_t* indices, int64_t n,
                int64_t width, float* table) {
  for (int64_t i = 0; i < n; ++i) {
    AddRow(table + indices[i] * width, grad + i * width, width);
  }
}

// A convolution's geometry over square inputs (dilation 1, one group).
struct Window {
  int64_t side;      // of the input
  int64_t out_side;  // of the output
  int64_t kernel;
  int64_t stride;
  int64_t padding;
};

// For a convolution over embedded characters: sums[c, ky, kx, o] += the
// output gradient grad[b, oy, ox, o] of every output position whose window
// holds character c at (ky, kx). grad is [batch, out_side, out_side,
// channels] (channels last), chars [batch, side, side]; padding holds no
// character and adds nothing.
LANTERN_VECTOR_CLONES
void SumByCharacter(const float* grad, const uint8_t* chars, int64_t batch,
                    const Window& w, int64_t channels, float* sums) {
  const int64_t row = w.kernel * w.kernel * channels;  // one character's
  for (int64_t b = 0; b < batch; ++b) {
    const uint8_t* map = chars + b * w.side * w.side;
    for (int64_t oy = 0; oy < w.out_side; ++oy) {
      const int64_t top = oy * w.stride - w.padding;
      const int64_t ky_begin = std::max<int64_t>(0, -top);
      const int64_t ky_end = std::min(w.kernel, w.side - top);
      for (int64_t ox = 0; ox < w.out_side; ++ox) {
        const int64_t left = ox * w.stride - w.padding;
        const int64_t kx_begin = std::max<int64_t>(0, -left);
        const int64_t kx_end = std::min(w.kernel, w.side - left);
        const float* g =
            grad + ((b * w.out_side + oy) * w.out_side + ox) * channels;
        for (int64_t ky = ky_begin; ky < ky_end; ++ky) {
          const int64_t line = (top + ky) * w.side + left;  // + kx: in map
          float* at_ky = sums + ky * w.kernel * channels;
          for (int64_t kx = kx_begin; kx < kx_end; ++kx) {
            AddRow(at_ky + map[line + kx] * row + kx * channels, g, channels);
          }
        }
      }
    }
  }
}

// Runs f(begin, end) over chunks of [0, n) on LibTorch's intra-op threads
// (learner.torch_threads; inline with one), chunks of at least `grain`.
template <typename F>
void InChunks(int64_t n, int64_t grain, const F& f) {
  at::parallel_for(0, n, std::max<int64_t>(grain, 1), f);
}

// Elementwise kernels take chunks of 32 K elements (LibTorch's grain).
constexpr int64_t kGrain = 32768;

// None of these backwards is differentiable itself.
void RefuseDoubleBackward(const char* name) {
  TORCH_CHECK(!at::GradMode::is_enabled(), name,
              ": its backward is not differentiable (no create_graph)");
}

// Whether the kernels can treat t as a flat float32 array.
bool Flat(const at::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat &&
         t.is_non_overlapping_and_dense();
}

// The backward of Elu_: d elu(x) / dx from the result. Its own node (not
// a torch::autograd::Function, which copies its gradients before the
// backward sees them) so that it can tell when nothing else holds the
// incoming gradient, and then write into it rather than into a new buffer:
// the same test AccumulateGrad uses to steal a gradient. On the network's
// large maps that saves a quarter of the pass's memory traffic.
struct EluBackwardNode : torch::autograd::Node {
  torch::autograd::SavedVariable result;

  variable_list apply(variable_list&& grads) override {
    RefuseDoubleBackward("Elu_");
    at::Tensor grad = std::move(grads[0]);
    const at::Tensor y = result.unpack(shared_from_this());
    if (!grad.defined()) return {at::Tensor()};
    if (!Flat(grad) || grad.strides() != y.strides()) {
      return {at::elu_backward(grad, 1.0, 1.0, 1.0, /*is_result=*/true, y)};
    }
    const bool alone = grad.use_count() == 1 &&
                       grad.storage().use_count() == 1 && !grad.requires_grad();
    at::Tensor out = alone ? grad : at::empty_like(y);
    const float* g = grad.data_ptr<float>();
    const float* r = y.data_ptr<float>();
    float* o = out.data_ptr<float>();
    InChunks(out.numel(), kGrain, [&](int64_t begin, int64_t end) {
      EluBackward(g + begin, r + begin, o + begin, end - begin);
    });
    return {out};
  }

  void release_variables() override { result.reset_data(); }

  std::string name() const override { return "lantern::EluBackward"; }
};

// The rows of table [V, E] at uint8 indices (contiguous): [indices..., E].
at::Tensor Lookup(const at::Tensor& table, const at::Tensor& indices) {
  const at::Tensor rows = table.contiguous();
  const int64_t width = table.size(1);
  std::vector<int64_t> shape = indices.sizes().vec();
  shape.push_back(width);
  at::Tensor out = at::empty(shape, table.options());
  const float* from = rows.data_ptr<float>();
  const uint8_t* index = indices.data_ptr<uint8_t>();
  float* to = out.data_ptr<float>();
  InChunks(indices.numel(), kGrain / width, [&](int64_t begin, int64_t end) {
    Gather(from, index + begin, end - begin, width, to + begin * width);
  });
  return out;
}

struct EmbedFunction : torch::autograd::Function<EmbedFunction> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor table,
                            at::Tensor indices) {
    ctx->save_for_backward({indices});
    ctx->saved_data["rows"] = table.size(0);
    return Lookup(table, indices);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RefuseDoubleBackward("Embed");
    const at::Tensor indices = ctx->get_saved_variables()[0];
    const at::Tensor grad = grads[0].contiguous();
    const int64_t width = grad.size(-1);
    at::Tensor table =
        at::zeros({ctx->saved_data["rows"].toInt(), width}, grad.options());
    ScatterAdd(grad.data_ptr<float>(), indices.data_ptr<uint8_t>(),
               indices.numel(), width, table.data_ptr<float>());
    return {table, at::Tensor()};
  }
};

// conv2d over the embedded characters, whose backward never forms the
// gradient of the embedded map ([N, E, c, c], a transposed convolution as
// costly as the convolution itself): the output gradient is summed per
// (character, kernel offset) instead, and one small product with the
// weights gives the table's gradient.
struct EmbedConvFunction : torch::autograd::Function<EmbedConvFunction> {
  static at::Tensor forward(AutogradContext* ctx, at::Tensor table,
                            at::Tensor chars, at::Tensor weight,
                            at::Tensor bias, int64_t stride, int64_t padding) {
    const at::Tensor embedded = Lookup(table, chars).permute({0, 3, 1, 2});
    ctx->save_for_backward({chars, embedded, weight});
    ctx->saved_data["rows"] = table.size(0);
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return at::conv2d(embedded, weight, bias, stride, padding);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RefuseDoubleBackward("EmbedConv");
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& chars = saved[0];
    const at::Tensor& embedded = saved[1];
    const at::Tensor& weight = saved[2];
    const int64_t stride = ctx->saved_data["stride"].toInt();
    const int64_t padding = ctx->saved_data["padding"].toInt();
    const at::Tensor grad = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t channels = weight.size(0);
    const int64_t bias_size[] = {channels};
    auto [unused, grad_weight, grad_bias] = at::convolution_backward(
        grad, embedded, weight, bias_size, {stride, stride}, {padding, padding},
        {1, 1}, /*transposed=*/false, {0, 0}, /*groups=*/1,
        {false, ctx->needs_input_grad(2), ctx->needs_input_grad(3)});
    at::Tensor grad_table;
    if (ctx->needs_input_grad(0)) {
      const Window w{chars.size(1), grad.size(2), weight.size(2), stride,
                     padding};
      const int64_t rows = ctx->saved_data["rows"].toInt();
      // One set of sums per thread, over its share of the batch, added up.
      at::Tensor sums =
          at::zeros({at::get_num_threads(), rows, w.kernel, w.kernel, channels},
                    grad.options());
      const float* g = grad.data_ptr<float>();
      const uint8_t* c = chars.data_ptr<uint8_t>();
      float* first = sums.data_ptr<float>();
      InChunks(chars.size(0), 1, [&](int64_t begin, int64_t end) {
        SumByCharacter(g + begin * grad.stride(0), c + begin * chars.stride(0),
                       end - begin, w, channels,
                       first + at::get_thread_num() * sums.stride(0));
      });
      // [V, (ky, kx, o)] x [(ky, kx, o), E]
      grad_table =
          (sums.size(0) == 1 ? sums[0] : sums.sum(0))
              .view({rows, -1})
              .mm(weight.permute({2, 3, 0, 1}).reshape({-1, weight.size(1)}));
    }
    return {grad_table, at::Tensor(), grad_weight,
            grad_bias,  at::Tensor(), at::Tensor()};
  }
};

// Checks what Embed and EmbedConv share; whether the CPU kernels take it.
bool CheckLookup(const char* name, const at::Tensor& table,
                 const at::Tensor& indices) {
  TORCH_CHECK(table.dim() == 2, name, ": table must be [V, E], got ",
              table.sizes());
  TORCH_CHECK(indices.scalar_type() == at::kByte, name,
              ": indices must be uint8, got ", indices.scalar_type());
  TORCH_CHECK(indices.device() == table.device(), name, ": indices on ",
              indices.device(), ", the table on ", table.device());
  const int64_t rows = table.size(0);
  if (rows < 256 && indices.numel() > 0) {
    const int64_t high = indices.max().item<int64_t>();
    TORCH_CHECK(high < rows, name, ": index ", high, " outside the table's ",
                rows, " rows");
  }
  return table.device().is_cpu() && table.scalar_type() == at::kFloat;
}

// Embed once CheckLookup has passed and said whether the kernels take it.
at::Tensor LookupRows(bool kernel, const at::Tensor& table,
                      const at::Tensor& indices) {
  if (!kernel) return at::embedding(table, indices.to(at::kLong));
  return EmbedFunction::apply(table, indices.contiguous());
}

}  // namespace

at::Tensor Elu_(at::Tensor x) {
  if (!Flat(x) || x.is_view()) return at::elu_(x);
  const bool differentiable = at::GradMode::is_enabled() && x.requires_grad();
  TORCH_CHECK(!differentiable || !x.is_leaf(),
              "Elu_: a leaf that requires grad cannot be written in place");
  // The edge to x's producer, before x becomes the ELU's output.
  torch::autograd::edge_list producer;
  if (differentiable) producer = torch::autograd::collect_next_edges(x);
  float* values = x.data_ptr<float>();
  InChunks(x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    EluInPlace(values + begin, end - begin);
  });
  // Counted as a write to x, so that autograd refuses a backward through
  // any op that saved x's old values.
  torch::autograd::impl::bump_version(x);
  if (differentiable) {
    const std::shared_ptr<EluBackwardNode> node(new EluBackwardNode(),
                                                torch::autograd::deleteNode);
    node->set_next_edges(std::move(producer));
    torch::autograd::impl::rebase_history(x,
                                          {node, node->add_input_metadata(x)});
    node->result = torch::autograd::SavedVariable(x, /*is_output=*/true);
  }
  return x;
}

at::Tensor Embed(const at::Tensor& table, const at::Tensor& indices) {
  return LookupRows(CheckLookup("Embed", table, indices), table, indices);
}

at::Tensor EmbedConv(const at::Tensor& table, const at::Tensor& chars,
                     const at::Tensor& weight, const at::Tensor& bias,
                     int64_t stride, int64_t padding) {
  TORCH_CHECK(chars.dim() == 3 && chars.size(1) == chars.size(2),
              "EmbedConv: chars must be [N, c, c], got ", chars.sizes());
  TORCH_CHECK(weight.dim() == 4 && weight.size(1) == table.size(1) &&
                  weight.size(2) == weight.size(3),
              "EmbedConv: weight must be [O, ", table.size(1), ", k, k], got ",
              weight.sizes());
  // (A custom function takes no undefined tensor: without a bias, LibTorch's
  // ops.)
  const bool kernel = CheckLookup("EmbedConv", table, chars);
  if (!kernel || !bias.defined()) {
    return at::conv2d(LookupRows(kernel, table, chars).permute({0, 3, 1, 2}),
                      weight, bias, stride, padding);
  }
  return EmbedConvFunction::apply(table, chars.contiguous(), weight, bias,
                                  stride, padding);
}

}  // namespace lantern::core
