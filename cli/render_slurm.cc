// `lantern render slurm`: one heterogeneous batch job. Component 0 is the
// learner on a GPU node, then the reward server (when there is one), then
// the actors as one srun step of actor.count tasks over CPU nodes. The batch
// script resolves each component's host and passes the addresses to the
// roles through LANTERN_LEARNER_ADDR and LANTERN_REWARD_ADDR.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli/render.h"

namespace lantern::cli {
namespace {

// One word for the shell, whatever it holds: double quotes with \, ", $
// and ` escaped (single quotes around a literal $ would make shellcheck
// ask whether it was meant to expand).
std::string Quote(const std::string& s) {
  return absl::StrCat(
      "\"",
      absl::StrReplaceAll(
          s, {{"\\", "\\\\"}, {"\"", "\\\""}, {"$", "\\$"}, {"`", "\\`"}}),
      "\"");
}

int64_t Cores(const std::string& cpu) {
  return std::max<int64_t>(1, (common::CpuMillis(cpu) + 999) / 1000);
}

// One component's #SBATCH lines.
std::string Component(const std::string& partition, int64_t nodes,
                      int64_t tasks, const std::string& cpu,
                      const std::string& memory, int64_t gpus) {
  std::string text;
  if (!partition.empty())
    absl::StrAppend(&text, "#SBATCH --partition=", partition, "\n");
  const int64_t cores = Cores(cpu);
  absl::StrAppend(&text, "#SBATCH --nodes=", nodes,
                  "\n#SBATCH --ntasks=", tasks,
                  "\n#SBATCH --cpus-per-task=", cores, "\n");
  if (tasks == 1) {
    absl::StrAppend(&text, "#SBATCH --mem=", common::MemoryMiB(memory), "M\n");
  } else {
    // Several tasks share a node: memory per task as memory per core.
    absl::StrAppend(&text, "#SBATCH --mem-per-cpu=",
                    (common::MemoryMiB(memory) + cores - 1) / cores, "M\n");
  }
  if (gpus > 0) absl::StrAppend(&text, "#SBATCH --gres=gpu:", gpus, "\n");
  return text;
}

}  // namespace

std::vector<RenderedFile> RenderSlurm(const common::Config& config,
                                      const std::string& out_dir) {
  const common::DeployConfig& d = config.deploy;
  const bool rewards = HasRewardServer(config);
  const int actor_group = rewards ? 2 : 1;
  const std::string set_learner =
      absl::StrCat("--set learner.listen=0.0.0.0:", d.learner_port,
                   " --set metrics.learner_listen=0.0.0.0:", d.metrics_port);
  std::string s = absl::StrCat(
      "#!/bin/bash\n"
      "# Rendered by `lantern render slurm` for run '",
      config.run.name, "': the learner (het group 0),\n# ",
      rewards ? "the reward server (group 1) and " : "", config.actor.count,
      " actors (group ", actor_group,
      ", one srun step).\n# Submit with: sbatch lantern.sbatch\n",
      // run.name is letters, digits, '.', '_' and '-': one plain word.
      "#SBATCH --job-name=lantern-", config.run.name, "\n");
  absl::StrAppend(&s, "#SBATCH --time=", d.slurm_time, "\n");
  if (!d.slurm_account.empty()) {
    absl::StrAppend(&s, "#SBATCH --account=", d.slurm_account, "\n");
  }
  absl::StrAppend(&s, "#SBATCH --output=lantern-%j.out\n");
  absl::StrAppend(&s, Component(d.slurm_learner_partition, 1, 1, d.learner_cpu,
                                d.learner_memory, d.learner_gpus));
  if (rewards) {
    absl::StrAppend(
        &s, "#SBATCH hetjob\n",
        Component(d.slurm_partition, 1, 1, d.reward_cpu, d.reward_memory, 0));
  }
  absl::StrAppend(
      &s, "#SBATCH hetjob\n",
      Component(d.slurm_partition, d.slurm_actor_nodes, config.actor.count,
                d.actor_cpu, d.actor_memory, 0));
  absl::StrAppend(&s, "set -euo pipefail\n\n");
  if (!d.slurm_bin_dir.empty()) {
    absl::StrAppend(&s, "export PATH=", Quote(d.slurm_bin_dir), ":\"$PATH\"\n");
  }
  absl::StrAppend(
      &s, "config=", Quote(out_dir + "/config.yaml"), "\n\n",
      "first_host() { scontrol show hostnames \"$1\" | head -n 1; }\n",
      "learner_host=$(first_host \"$SLURM_JOB_NODELIST_HET_GROUP_0\")\n",
      "export LANTERN_LEARNER_ADDR=\"$learner_host:", d.learner_port, "\"\n");
  if (rewards) {
    absl::StrAppend(
        &s, "reward_host=$(first_host \"$SLURM_JOB_NODELIST_HET_GROUP_1\")\n",
        "export LANTERN_REWARD_ADDR=\"$reward_host:", d.reward_port, "\"\n");
  }
  absl::StrAppend(&s, "echo \"learner at $LANTERN_LEARNER_ADDR\"\n\n");
  if (rewards) {
    absl::StrAppend(
        &s,
        "srun --het-group=1 lantern-reward-server --config \"$config\" \\\n",
        "  --set reward.listen=0.0.0.0:", d.reward_port,
        " --set metrics.reward_listen=0.0.0.0:0 &\nreward_pid=$!\n");
  }
  absl::StrAppend(
      &s, "srun --het-group=0 lantern-learner --config \"$config\" \\\n  ",
      set_learner, " &\nlearner_pid=$!\n",
      "# Each actor task gets its rank as --index (its logs and seeds); $1\n"
      "# and $SLURM_PROCID expand in each task's own shell.\n",
      "# shellcheck disable=SC2016\n", "srun --het-group=", actor_group,
      " bash -c \\\n",
      "  'exec lantern-actor --config \"$1\" --index \"$SLURM_PROCID\" "
      "--set metrics.actor_listen=0.0.0.0:0' \\\n",
      "  lantern-actor \"$config\" &\n", "actors_pid=$!\n\n",
      "# The learner ends the run; then the other steps are stopped.\n",
      "status=0\nwait \"$learner_pid\" || status=$?\n", "kill \"$actors_pid\"",
      rewards ? " \"$reward_pid\"" : "",
      " 2>/dev/null || true\nwait || true\nexit \"$status\"\n");
  return {{"lantern.sbatch", s, true}, {"config.yaml", RenderedConfig(config)}};
}

}  // namespace lantern::cli
