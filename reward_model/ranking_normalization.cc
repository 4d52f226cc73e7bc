#include "reward_model/ranking_normalization.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace lantern::reward_model {

RunningMeanStd CombineMoments(const RunningMeanStd& stats, double batch_mean,
                              double batch_var, double batch_count) {
  if (batch_count <= 0) return stats;
  const double delta = batch_mean - stats.mean;
  const double total = stats.count + batch_count;
  RunningMeanStd out;
  out.mean = stats.mean + delta * batch_count / total;
  const double m2 = stats.var * stats.count + batch_var * batch_count +
                    delta * delta * stats.count * batch_count / total;
  out.var = m2 / total;
  out.count = total;
  return out;
}

RunningMeanStd UpdateRunningMeanStd(const RunningMeanStd& stats,
                                    const at::Tensor& values) {
  const int64_t n = values.numel();
  if (n == 0) return stats;
  c10::NoGradGuard no_grad;
  const at::Tensor v = values.detach().reshape({-1}).to(at::kDouble);
  double mean = 0;
  double var = 0;
  if (n == 1) {
    mean = v.item<double>();
  } else {
    // One host copy for both moments.
    const at::Tensor moments =
        at::stack({v.mean(), v.var(/*unbiased=*/true)}).to(at::kCPU);
    mean = moments[0].item<double>();
    var = moments[1].item<double>();
  }
  return CombineMoments(stats, mean, var, static_cast<double>(n));
}

at::Tensor Normalize(const at::Tensor& values, const RunningMeanStd& stats) {
  return (values - stats.mean) / std::sqrt(stats.var + 1e-8);
}

double Quantile(const at::Tensor& values, double q) {
  TORCH_CHECK(values.numel() > 0, "Quantile: empty tensor");
  TORCH_CHECK(q >= 0 && q <= 1, "Quantile: q must be in [0, 1], got ", q);
  c10::NoGradGuard no_grad;
  const at::Tensor sorted = std::get<0>(
      values.detach().reshape({-1}).to(at::kCPU, at::kDouble).sort());
  const double* v = sorted.data_ptr<double>();
  const double position = q * static_cast<double>(sorted.numel() - 1);
  const auto lo = static_cast<int64_t>(std::floor(position));
  const int64_t hi = std::min<int64_t>(lo + 1, sorted.numel() - 1);
  return v[lo] + (v[hi] - v[lo]) * (position - static_cast<double>(lo));
}

at::Tensor ZeroBelow(const at::Tensor& values, double threshold) {
  return values.masked_fill(values.lt(threshold), 0);
}

NormalizedRewards NormalizeRankingRewards(const at::Tensor& raw,
                                          const RunningMeanStd& stats,
                                          double quantile) {
  NormalizedRewards out;
  out.stats = UpdateRunningMeanStd(stats, raw);
  if (raw.numel() == 0) {
    out.rewards = raw;
    return out;
  }
  const at::Tensor normalized = Normalize(raw, out.stats);
  out.threshold = Quantile(normalized, quantile);
  out.rewards = ZeroBelow(normalized, out.threshold);
  return out;
}

}  // namespace lantern::reward_model
