#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lantern::common {

// The `deploy` section: how `lantern render` and `lantern launch` place a job
// on a cluster (Docker Compose, Kubernetes, Slurm). `lantern run` and the
// roles themselves ignore it. The number of actors is `actor.count` (the
// Deployment's replicas, the compose scale, the Slurm actor tasks).
//
// Resource amounts use Kubernetes' units: cpu "2", "0.5" or "500m"; memory
// and storage a whole number with Ki, Mi, Gi or Ti ("8Gi"). A limit of ""
// means none.
struct DeployConfig {
  std::string image = "lantern:local";  // the roles' image (docker/Dockerfile)
  std::string learner_image;            // "": `image` (e.g. the CUDA build)
  std::string pull_policy = "IfNotPresent";
  std::string namespace_name = "lantern";  // Kubernetes namespace
  int64_t learner_port = 50051;            // gRPC, in the container or node
  int64_t reward_port = 50052;
  int64_t metrics_port = 9090;  // each role's /metrics in its container
  int64_t learner_gpus = 1;     // 0: the learner runs on CPU
  std::string learner_cpu = "4";
  std::string learner_memory = "16Gi";
  std::string learner_cpu_limit = "";
  std::string learner_memory_limit = "16Gi";
  std::string reward_cpu = "2";
  std::string reward_memory = "8Gi";
  std::string reward_cpu_limit = "";
  std::string reward_memory_limit = "8Gi";
  std::string actor_cpu = "2";
  std::string actor_memory = "2Gi";
  std::string actor_cpu_limit = "";
  std::string actor_memory_limit = "2Gi";
  std::string learner_storage = "10Gi";  // checkpoints; "": not kept
  std::string reward_storage = "10Gi";   // the label store and models
  std::string storage_class = "";        // "": the cluster's default
  // Slurm: "" leaves an option to the cluster's defaults.
  std::string slurm_learner_partition = "";
  std::string slurm_partition = "";  // the reward server and the actors
  std::string slurm_account = "";
  std::string slurm_time = "24:00:00";
  int64_t slurm_actor_nodes = 1;
  std::string slurm_bin_dir = "";  // "": the binaries are on PATH

  template <class V>
  void Visit(V& v) {
    v.Str("image", image);
    v.Str("learner_image", learner_image);
    v.Enum("pull_policy", pull_policy, {"Always", "IfNotPresent", "Never"});
    v.Str("namespace", namespace_name);
    v.Num("learner_port", learner_port, 1, 65535);
    v.Num("reward_port", reward_port, 1, 65535);
    v.Num("metrics_port", metrics_port, 1, 65535);
    v.Num("learner_gpus", learner_gpus, 0, 16);
    v.Str("learner_cpu", learner_cpu);
    v.Str("learner_memory", learner_memory);
    v.Str("learner_cpu_limit", learner_cpu_limit);
    v.Str("learner_memory_limit", learner_memory_limit);
    v.Str("reward_cpu", reward_cpu);
    v.Str("reward_memory", reward_memory);
    v.Str("reward_cpu_limit", reward_cpu_limit);
    v.Str("reward_memory_limit", reward_memory_limit);
    v.Str("actor_cpu", actor_cpu);
    v.Str("actor_memory", actor_memory);
    v.Str("actor_cpu_limit", actor_cpu_limit);
    v.Str("actor_memory_limit", actor_memory_limit);
    v.Str("learner_storage", learner_storage);
    v.Str("reward_storage", reward_storage);
    v.Str("storage_class", storage_class);
    v.Str("slurm_learner_partition", slurm_learner_partition);
    v.Str("slurm_partition", slurm_partition);
    v.Str("slurm_account", slurm_account);
    v.Str("slurm_time", slurm_time);
    v.Num("slurm_actor_nodes", slurm_actor_nodes, 1, 100000);
    v.Str("slurm_bin_dir", slurm_bin_dir);
  }

  // The learner's image: `learner_image`, else `image`.
  const std::string& LearnerImage() const {
    return learner_image.empty() ? image : learner_image;
  }
};

// Appends one message per bad `deploy` value (formats, limits below
// requests, clashing ports, more Slurm actor nodes than `actor_count`).
void CheckDeploy(const DeployConfig& deploy, int64_t actor_count,
                 std::vector<std::string>& errors);

// A cpu amount ("2", "0.5", "500m") in thousandths of a core; -1 if malformed.
int64_t CpuMillis(const std::string& cpu);

// A memory or storage amount ("512Mi", "8Gi") in MiB, rounded up; -1 if
// malformed.
int64_t MemoryMiB(const std::string& memory);

}  // namespace lantern::common
