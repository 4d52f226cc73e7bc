// Comparing a tensor computed one way with the same one computed another.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lantern::core {

// got and want have the same shape and differ by at most `tolerance`
// anywhere (compared in double, on the CPU).
inline void ExpectClose(const torch::Tensor& got, const torch::Tensor& want,
                        double tolerance, const char* what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double error =
      (got.to(torch::kDouble).cpu() - want.to(torch::kDouble).cpu())
          .abs()
          .max()
          .item<double>();
  EXPECT_LE(error, tolerance) << what;
}

}  // namespace lantern::core
