// Normalisation of ranking-model rewards: running mean/std, then a per-batch
// quantile threshold. Pure functions over small value types.
#pragma once

#include <ATen/core/Tensor.h>

namespace lantern::reward_model {

// Running moments of every raw ranking reward seen so far, as ONI's
// RunningMeanStd (rlaif/reward_model.py; Sample Factory's lineage): mean 0,
// var 1 and a count of 1e-4 before the first batch.
struct RunningMeanStd {
  double mean = 0.0;
  double var = 1.0;
  double count = 1e-4;
};

// Chan et al.'s parallel update: merges a batch with mean `batch_mean`,
// variance `batch_var` and `batch_count` (> 0) items into `stats`:
//   delta = batch_mean - mean, total = count + batch_count
//   mean' = mean + delta * batch_count / total
//   var'  = (var * count + batch_var * batch_count
//            + delta^2 * count * batch_count / total) / total
//   count' = total
// Returns `stats` unchanged when batch_count <= 0.
RunningMeanStd CombineMoments(const RunningMeanStd& stats, double batch_mean,
                              double batch_var, double batch_count);

// CombineMoments with the moments of `values` (any shape, any float dtype
// and device; one copy to the host). The batch variance is the unbiased one
// (n - 1), as ONI's torch.var; a single value counts with variance 0 (ONI's
// torch.var would be NaN and poison the statistics). An empty tensor leaves
// `stats` unchanged.
RunningMeanStd UpdateRunningMeanStd(const RunningMeanStd& stats,
                                    const at::Tensor& values);

// (values - mean) / sqrt(var + 1e-8), in the dtype and on the device of
// `values`.
at::Tensor Normalize(const at::Tensor& values, const RunningMeanStd& stats);

// The q-quantile of all elements of `values` (q in [0, 1]), with linear
// interpolation between the two nearest order statistics (numpy's default):
// position q * (n - 1) in the sorted values. Throws c10::Error for an empty
// tensor or q outside [0, 1].
double Quantile(const at::Tensor& values, double q);

// Copy of `values` with every element below `threshold` set to 0.
at::Tensor ZeroBelow(const at::Tensor& values, double threshold);

struct NormalizedRewards {
  at::Tensor rewards;    // same shape, dtype and device as the raw rewards
  RunningMeanStd stats;  // the statistics after this batch
  double threshold = 0;  // the batch's q-quantile of the normalised values
};

// One batch of raw ranking rewards as Lantern uses them: updates the running
// statistics with the batch, normalises the batch with the updated
// statistics, and zeros every normalised value below the batch's
// `quantile`-quantile. An empty batch returns it with unchanged statistics.
//
// ONI's learner (online_motif) computes the normalised, thresholded reward,
// assigns it to `llm_reward_cpu` and then builds the return from the raw
// `llm_rewards_cpu`: the normalisation is never used there. Lantern applies
// it. ONI also thresholds at the fixed value eps_threshold_quantile (-0.5) on
// the normalised scale (keeping values strictly above it), and offline Motif
// at a quantile of its training set; ZeroBelow(Normalize(...), t) gives
// those.
NormalizedRewards NormalizeRankingRewards(const at::Tensor& raw,
                                          const RunningMeanStd& stats,
                                          double quantile);

}  // namespace lantern::reward_model
