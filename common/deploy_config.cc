#include "common/deploy_config.h"

#include <cctype>
#include <charconv>
#include <regex>

#include "absl/strings/str_cat.h"

namespace lantern::common {
namespace {

bool Matches(const std::string& s, const char* pattern) {
  return std::regex_match(s, std::regex(pattern));
}

// Images are passed to compose files, manifests and shell scripts: no
// whitespace or control characters (each would be a different image).
bool IsImage(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isspace(c) || std::iscntrl(c) || c == '\'' || c == '"') {
      return false;
    }
  }
  return true;
}

}  // namespace

int64_t CpuMillis(const std::string& cpu) {
  if (Matches(cpu, "[0-9]{1,6}m"))
    return std::stoll(cpu.substr(0, cpu.size() - 1));
  if (!Matches(cpu, "[0-9]{1,4}(\\.[0-9]{1,3})?")) return -1;
  const size_t dot = cpu.find('.');
  int64_t millis = std::stoll(cpu.substr(0, dot)) * 1000;
  if (dot != std::string::npos) {
    std::string frac = cpu.substr(dot + 1);
    frac.resize(3, '0');
    millis += std::stoll(frac);
  }
  return millis;
}

int64_t MemoryMiB(const std::string& memory) {
  if (!Matches(memory, "[0-9]{1,9}(Ki|Mi|Gi|Ti)")) return -1;
  const int64_t n = std::stoll(memory.substr(0, memory.size() - 2));
  const char unit = memory[memory.size() - 2];
  switch (unit) {
    case 'K':
      return (n + 1023) / 1024;
    case 'M':
      return n;
    case 'G':
      return n * 1024;
    default:
      return n * 1024 * 1024;
  }
}

void CheckDeploy(const DeployConfig& d, int64_t actor_count,
                 std::vector<std::string>& errors) {
  auto error = [&](const char* key, const std::string& value,
                   const std::string& what) {
    errors.push_back(absl::StrCat("deploy.", key, ": '", value, "' ", what));
  };
  if (!IsImage(d.image)) {
    error("image", d.image, "must be an image reference (no spaces, quotes)");
  }
  if (!d.learner_image.empty() && !IsImage(d.learner_image)) {
    error("learner_image", d.learner_image,
          "must be an image reference or empty (then deploy.image)");
  }
  if (d.namespace_name.size() > 63 ||
      !Matches(d.namespace_name, "[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
    error("namespace", d.namespace_name,
          "must be a DNS label: lowercase letters, digits and '-', at most "
          "63");
  }
  if (d.learner_port == d.reward_port || d.learner_port == d.metrics_port ||
      d.reward_port == d.metrics_port) {
    errors.push_back(absl::StrCat(
        "deploy.learner_port, deploy.reward_port, deploy.metrics_port: "
        "must differ, got ",
        d.learner_port, ", ", d.reward_port, ", ", d.metrics_port));
  }
  struct Amounts {
    const char* role;
    const std::string& cpu;
    const std::string& memory;
    const std::string& cpu_limit;
    const std::string& memory_limit;
  };
  for (const Amounts& a : {Amounts{"learner", d.learner_cpu, d.learner_memory,
                                   d.learner_cpu_limit, d.learner_memory_limit},
                           Amounts{"reward", d.reward_cpu, d.reward_memory,
                                   d.reward_cpu_limit, d.reward_memory_limit},
                           Amounts{"actor", d.actor_cpu, d.actor_memory,
                                   d.actor_cpu_limit, d.actor_memory_limit}}) {
    const std::string role = a.role;
    const int64_t cpu = CpuMillis(a.cpu);
    const int64_t memory = MemoryMiB(a.memory);
    if (cpu <= 0) {
      error((role + "_cpu").c_str(), a.cpu,
            "must be a positive cpu amount: \"2\", \"0.5\" or \"500m\"");
    }
    if (memory <= 0) {
      error((role + "_memory").c_str(), a.memory,
            "must be a positive whole number with Ki, Mi, Gi or Ti, e.g. "
            "\"8Gi\"");
    }
    if (!a.cpu_limit.empty()) {
      const int64_t limit = CpuMillis(a.cpu_limit);
      if (limit <= 0) {
        error((role + "_cpu_limit").c_str(), a.cpu_limit,
              "must be a positive cpu amount or \"\" (no limit)");
      } else if (cpu > 0 && limit < cpu) {
        error((role + "_cpu_limit").c_str(), a.cpu_limit,
              absl::StrCat("is below the request deploy.", role, "_cpu (",
                           a.cpu, ")"));
      }
    }
    if (!a.memory_limit.empty()) {
      const int64_t limit = MemoryMiB(a.memory_limit);
      if (limit <= 0) {
        error((role + "_memory_limit").c_str(), a.memory_limit,
              "must be a positive whole number with Ki, Mi, Gi or Ti, or "
              "\"\" (no limit)");
      } else if (memory > 0 && limit < memory) {
        error((role + "_memory_limit").c_str(), a.memory_limit,
              absl::StrCat("is below the request deploy.", role, "_memory (",
                           a.memory, ")"));
      }
    }
  }
  if (!d.learner_storage.empty() && MemoryMiB(d.learner_storage) <= 0) {
    error("learner_storage", d.learner_storage,
          "must be a size like \"10Gi\", or \"\" (checkpoints not kept)");
  }
  if (MemoryMiB(d.reward_storage) <= 0) {
    error("reward_storage", d.reward_storage,
          "must be a size like \"10Gi\" (the label store needs a volume)");
  }
  if (!d.storage_class.empty() &&
      (d.storage_class.size() > 253 ||
       !Matches(d.storage_class, "[a-z0-9]([-a-z0-9.]*[a-z0-9])?"))) {
    error("storage_class", d.storage_class,
          "must be a storage class name (lowercase letters, digits, '-', "
          "'.') or \"\" (the default)");
  }
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string&>{"slurm_learner_partition",
                                                   d.slurm_learner_partition},
        {"slurm_partition", d.slurm_partition},
        {"slurm_account", d.slurm_account}}) {
    if (!Matches(value, "[A-Za-z0-9_.,-]*")) {
      error(key, value, "may hold only letters, digits, '_', '.', ',', '-'");
    }
  }
  // Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
  if (!Matches(d.slurm_time, "[0-9]+(:[0-9]{1,2}){0,2}") &&
      !Matches(d.slurm_time, "[0-9]+-[0-9]{1,2}(:[0-9]{1,2}){0,2}")) {
    error("slurm_time", d.slurm_time,
          "must be a Slurm time limit: MINUTES, H:MM:SS or D-HH:MM:SS");
  }
  if (d.slurm_actor_nodes > actor_count) {
    errors.push_back(
        absl::StrCat("deploy.slurm_actor_nodes: ", d.slurm_actor_nodes,
                     " nodes for actor.count = ", actor_count,
                     " actors; each node needs one"));
  }
  if (!d.slurm_bin_dir.empty() &&
      (d.slurm_bin_dir[0] != '/' ||
       d.slurm_bin_dir.find_first_of("\n\r") != std::string::npos)) {
    error("slurm_bin_dir", d.slurm_bin_dir,
          "must be an absolute path or \"\" (binaries on PATH)");
  }
}

}  // namespace lantern::common
