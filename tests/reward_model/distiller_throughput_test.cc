// Throughput of the ONI-sized models on this machine. Disabled by default
// (it measures, it checks nothing); run it with
// --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
// (LANTERN_BENCH_THREADS sets the torch thread count, default 2).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "reward_model/distiller.h"
#include "tests/reward_model/test_captions.h"

namespace lantern::reward_model {
namespace {

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

TEST(DistillerThroughputTest, DISABLED_OniSizedModel) {
  const char* threads = std::getenv("LANTERN_BENCH_THREADS");
  torch::set_num_threads(threads != nullptr ? std::atoi(threads) : 2);
  std::printf("torch threads: %d\n", torch::get_num_threads());
  testing::CaptionMaker maker(1);
  std::vector<std::string> templates = testing::kHelpfulTemplates;
  templates.insert(templates.end(), testing::kUnhelpfulTemplates.begin(),
                   testing::kUnhelpfulTemplates.end());
  // Distinct captions, so deduplication saves nothing.
  const std::vector<std::string> captions = maker.MakeDistinct(templates, 4096);
  ASSERT_GE(captions.size(), 2048u);

  for (const auto kind :
       {RewardModelKind::kClassification, RewardModelKind::kRanking}) {
    DistillerOptions options;  // ONI's sizes
    options.model.kind = kind;
    Distiller d(options);
    const char* name =
        kind == RewardModelKind::kClassification ? "classification" : "ranking";
    for (const int64_t batch : {64, 1024}) {
      const std::vector<std::string> slice(captions.begin(),
                                           captions.begin() + batch);
      d.Score(slice);  // warm-up
      int64_t scored = 0;
      const auto start = std::chrono::steady_clock::now();
      while (Seconds(std::chrono::steady_clock::now() - start) < 3.0) {
        d.Score(slice);
        scored += batch;
      }
      const double s = Seconds(std::chrono::steady_clock::now() - start);
      std::printf("%s Score batch %4lld: %8.0f captions/s\n", name,
                  static_cast<long long>(batch), scored / s);
    }
    if (kind == RewardModelKind::kClassification) {
      std::vector<ClassificationExample> examples;
      for (size_t i = 0; i < captions.size(); ++i) {
        examples.push_back({captions[i], static_cast<int>(i % 2)});
      }
      d.AddExamples(examples);
    } else {
      std::vector<PreferenceExample> pairs;
      for (size_t i = 0; i + 1 < captions.size(); i += 2) {
        pairs.push_back({captions[i], captions[i + 1], 1.0f});
      }
      d.AddExamples(pairs);
    }
    d.Train(1);  // warm-up
    const int steps = 5;
    const auto start = std::chrono::steady_clock::now();
    d.Train(steps);
    const double s = Seconds(std::chrono::steady_clock::now() - start);
    std::printf("%s Train step, batch %lld: %.1f ms\n", name,
                static_cast<long long>(options.batch_size), 1000 * s / steps);
  }
}

}  // namespace
}  // namespace lantern::reward_model
