#include "learner/weights.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lantern/v1/learner.pb.h"
#include "learner/core/model.h"

namespace lantern::learner {
namespace {

core::ModelOptions Options(bool rnn) {
  core::ModelOptions o;
  o.crop = 5;
  o.conv_channels = {4};
  o.hidden = 16;
  o.use_rnn = rnn;
  o.rnn_hidden = 8;
  return o;
}

bool SameWeights(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa) {
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  }
  return true;
}

TEST(WeightsTest, ExportThenImportReproducesTheModel) {
  torch::manual_seed(1);
  core::PolicyNet source(Options(true));
  core::PolicyNet target(Options(true));
  ASSERT_FALSE(SameWeights(*source, *target));
  v1::PolicyWeights w;
  ExportWeights(*source, w.mutable_tensors());
  EXPECT_EQ(size_t(w.tensors_size()), source->named_parameters().size());
  ASSERT_TRUE(ImportWeights(w.tensors(), *target).ok());
  EXPECT_TRUE(SameWeights(*source, *target));
}

TEST(WeightsTest, MismatchIsRejectedAndChangesNothing) {
  torch::manual_seed(2);
  core::PolicyNet source(Options(false));
  core::PolicyNet target(Options(false));
  core::PolicyNet before(Options(false));
  v1::PolicyWeights original;
  ExportWeights(*target, original.mutable_tensors());
  ASSERT_TRUE(ImportWeights(original.tensors(), *before).ok());

  v1::PolicyWeights w;
  ExportWeights(*source, w.mutable_tensors());
  w.mutable_tensors(w.tensors_size() - 1)->mutable_tensor()->set_shape(0, 99);
  absl::Status st = ImportWeights(w.tensors(), *target);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SameWeights(*target, *before)) << "a bad message changed weights";

  ExportWeights(*source, w.mutable_tensors());
  w.mutable_tensors()->RemoveLast();
  st = ImportWeights(w.tensors(), *target);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("is missing"), absl::string_view::npos) << st;

  // A network with a GRU has more tensors than one without.
  core::PolicyNet recurrent(Options(true));
  ExportWeights(*recurrent, w.mutable_tensors());
  EXPECT_FALSE(ImportWeights(w.tensors(), *target).ok());
  EXPECT_TRUE(SameWeights(*target, *before));
}

}  // namespace
}  // namespace lantern::learner
