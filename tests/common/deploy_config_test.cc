#include "common/deploy_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config.h"

namespace lantern::common {
namespace {

using ::testing::HasSubstr;

TEST(DeployConfigTest, CpuAmounts) {
  EXPECT_EQ(CpuMillis("2"), 2000);
  EXPECT_EQ(CpuMillis("0.5"), 500);
  EXPECT_EQ(CpuMillis("1.25"), 1250);
  EXPECT_EQ(CpuMillis("500m"), 500);
  EXPECT_EQ(CpuMillis("0"), 0);
  for (const char* bad : {"", "m", "1.2345", "-1", "2 ", "1e3", "2cpu"}) {
    EXPECT_EQ(CpuMillis(bad), -1) << bad;
  }
}

TEST(DeployConfigTest, MemoryAmounts) {
  EXPECT_EQ(MemoryMiB("512Mi"), 512);
  EXPECT_EQ(MemoryMiB("8Gi"), 8192);
  EXPECT_EQ(MemoryMiB("1Ti"), 1024 * 1024);
  EXPECT_EQ(MemoryMiB("1025Ki"), 2);  // rounded up
  for (const char* bad : {"", "8", "8G", "8GB", "1.5Gi", "Gi", "-1Gi"}) {
    EXPECT_EQ(MemoryMiB(bad), -1) << bad;
  }
}

TEST(DeployConfigTest, DefaultsAreValid) {
  absl::StatusOr<Config> config = ParseConfig("", "test", {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->deploy.LearnerImage(), "lantern:local");
  EXPECT_THAT(ConfigToYaml(*config), HasSubstr("deploy:\n  image: "));
}

TEST(DeployConfigTest, EveryBadValueIsReported) {
  absl::StatusOr<Config> config = ParseConfig(
      "deploy:\n"
      "  image: 'has space'\n"
      "  namespace: Lantern\n"
      "  actor_cpu_limit: 100m\n"
      "  learner_storage: 10G\n"
      "  storage_class: Fast_SSD\n"
      "  slurm_partition: 'gpu;rm'\n"
      "  slurm_bin_dir: relative/bin\n",
      "test", {"deploy.learner_port=9090"});
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("8 error(s)"));
  for (const char* fragment :
       {"deploy.image: 'has space' must be an image reference",
        "deploy.namespace: 'Lantern' must be a DNS label",
        "deploy.actor_cpu_limit: '100m' is below the request deploy.actor_cpu",
        "deploy.learner_storage: '10G' must be a size",
        "deploy.storage_class: 'Fast_SSD'",
        "deploy.slurm_partition: 'gpu;rm' may hold only",
        "deploy.slurm_bin_dir: 'relative/bin' must be an absolute path",
        "deploy.learner_port, deploy.reward_port, deploy.metrics_port: must "
        "differ, got 9090, 50052, 9090"}) {
    EXPECT_THAT(message, HasSubstr(fragment));
  }
}

}  // namespace
}  // namespace lantern::common
