#include "learner/weights.h"

#include <torch/torch.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "common/tensor_codec.h"

namespace lantern::learner {
namespace {

// Parameters and buffers under one name space; buffers get a prefix so a
// parameter and a buffer can never collide.
std::vector<std::pair<std::string, torch::Tensor>> Named(
    const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : module.named_parameters())
    out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) {
    out.emplace_back("buffer:" + b.key(), b.value());
  }
  return out;
}

}  // namespace

void ExportWeights(const torch::nn::Module& module, NamedTensors* out) {
  torch::NoGradGuard no_grad;
  out->Clear();
  for (const auto& [name, tensor] : Named(module)) {
    torch::Tensor t =
        tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    v1::NamedTensor* nt = out->Add();
    nt->set_name(name);
    const std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    common::EncodeTensor<float>(shape, t.data_ptr<float>(),
                                nt->mutable_tensor());
  }
}

absl::Status ImportWeights(const NamedTensors& tensors,
                           torch::nn::Module& module, std::string_view what) {
  std::map<std::string, const v1::Tensor*> by_name;
  for (const v1::NamedTensor& nt : tensors) {
    by_name[nt.name()] = &nt.tensor();
  }
  const auto named = Named(module);
  // Check everything first so a bad message changes nothing.
  for (const auto& [name, tensor] : named) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(what), ": '", name, "' is missing"));
    }
    const std::vector<int64_t> shape(tensor.sizes().begin(),
                                     tensor.sizes().end());
    absl::Status st = common::CheckTensor(
        *it->second, absl::StrCat(std::string(what), " '", name, "'"),
        v1::DTYPE_FLOAT32, shape);
    if (!st.ok()) return st;
  }
  if (by_name.size() != named.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ", by_name.size(),
                     " tensors, the model has ", named.size()));
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : named) {
    const v1::Tensor* src = by_name[name];
    torch::Tensor view = torch::from_blob(const_cast<char*>(src->data().data()),
                                          tensor.sizes(), torch::kFloat32);
    tensor.copy_(view);
  }
  return absl::OkStatus();
}

}  // namespace lantern::learner
