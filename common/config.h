#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/deploy_config.h"

namespace lantern::common {

// Each section is a plain struct. Visit() lists its fields once, with their
// limits; the loader, the validator and the writer all walk that one list.
//   v.Num(key, field, lo, hi)   integer or floating-point field in [lo, hi]
//   v.Str(key, field)           free string
//   v.Enum(key, field, {...})   string from a fixed set
//   v.Bool(key, field)
//   v.IntList(key, field, lo, hi)
//   v.StrList(key, field)

struct RunConfig {
  std::string name = "lantern";
  std::string dir = "runs";  // run directory is <dir>/<name>
  int64_t seed = 1;
  int64_t max_env_steps = 0;       // 0: no limit
  double max_wall_s = 0;           // 0: no limit
  double target_success_rate = 0;  // stop once reached (last 100); 0: off
  double stats_interval_s = 5;
  double checkpoint_interval_s = 60;  // 0: only at the end
  bool resume = true;  // continue from the run directory's checkpoint

  template <class V>
  void Visit(V& v) {
    v.Str("name", name);
    v.Str("dir", dir);
    v.Num("seed", seed, 0, int64_t{1} << 62);
    v.Num("max_env_steps", max_env_steps, 0, int64_t{1} << 50);
    v.Num("max_wall_s", max_wall_s, 0.0, 1e9);
    v.Num("target_success_rate", target_success_rate, 0.0, 1.0);
    v.Num("stats_interval_s", stats_interval_s, 0.1, 3600.0);
    v.Num("checkpoint_interval_s", checkpoint_interval_s, 0.0, 1e6);
    v.Bool("resume", resume);
  }
};

struct EnvConfig {
  std::string kind = "grid";   // grid | nethack | remote
  std::string task = "dense";  // grid: dense | sparse;
                               // nethack: score | gold | staircase | oracle
  std::string layout = "key_door";
  int64_t width = 8;
  int64_t height = 6;
  int64_t crop = 9;
  int64_t message_len = 64;
  int64_t max_steps = 100;
  double distractor_prob = 0.05;
  // NetHack only (README, "The NetHack environment").
  int64_t target_depth = 2;  // staircase: success on reaching this Dlvl
  std::string character = "val-hum-fem-neu";  // role-race-gender-alignment
  std::string nethack_binary = "/usr/lib/games/nethack/nethack-console";
  std::string nethack_dir;   // parent of the game directories; "": $TMPDIR
  std::string nethack_shim;  // preload shim; "": next to the executable
  std::string completion = "shim";  // shim | proc (no shim, not seedable)
  int64_t step_timeout_ms = 2000;   // no completion within it: a wedge

  // --- env.kind: remote (README, "Remote environments") -------------------
  // An environment served over gRPC (proto/lantern/v1/env.proto), e.g. by
  // scripts/env_server.py. The shapes are declared here, so the learner and
  // `lantern check-config` need no env server; each actor checks them
  // against the server's GetSpec when it starts. Also declared: crop and
  // message_len above.
  std::string address;  // host:port; "": $LANTERN_ENV_ADDR
  int64_t num_stats = 0;
  int64_t num_actions = 0;             // required (>= 1) for remote
  int64_t timeout_ms = 10000;          // deadline of each Reset/Step call
  int64_t connect_timeout_ms = 30000;  // waiting for the server at start
  // --- end env.kind: remote ------------------------------------------------

  template <class V>
  void Visit(V& v) {
    v.Enum("kind", kind, {"grid", "nethack", "remote"});
    v.Enum("task", task,
           {"dense", "sparse", "score", "gold", "staircase", "oracle"});
    v.Enum("layout", layout, {"key_door", "open"});
    v.Num("width", width, 3, 64);
    v.Num("height", height, 3, 64);
    v.Num("crop", crop, 3, 31);
    v.Num("message_len", message_len, 8, 1024);
    v.Num("max_steps", max_steps, 1, 1000000);
    v.Num("distractor_prob", distractor_prob, 0.0, 1.0);
    v.Num("target_depth", target_depth, 2, 50);
    v.Str("character", character);
    v.Str("nethack_binary", nethack_binary);
    v.Str("nethack_dir", nethack_dir);
    v.Str("nethack_shim", nethack_shim);
    v.Enum("completion", completion, {"shim", "proc"});
    v.Num("step_timeout_ms", step_timeout_ms, 10, 600000);
    // env.kind: remote
    v.Str("address", address);
    v.Num("num_stats", num_stats, 0, 4096);
    v.Num("num_actions", num_actions, 0, 4096);
    v.Num("timeout_ms", timeout_ms, 1, 3600000);
    v.Num("connect_timeout_ms", connect_timeout_ms, 0, 3600000);
  }
};

struct ActorConfig {
  int64_t count = 2;  // actor processes that `lantern run` starts
  int64_t num_envs = 16;
  int64_t unroll = 32;       // T
  int64_t max_unacked = 64;  // trajectories kept for resending
  // Acknowledged trajectories kept until the learner's checkpoint holds
  // them, so a learner killed before it checkpointed loses nothing; 0: none.
  int64_t max_retained_mb = 256;
  int64_t torch_threads = 1;
  std::string learner_addr;  // empty: LANTERN_LEARNER_ADDR or lantern run
  double heartbeat_interval_s = 2;  // a sign of life to the learner

  template <class V>
  void Visit(V& v) {
    v.Num("count", count, 1, 1024);
    v.Num("num_envs", num_envs, 1, 4096);
    v.Num("unroll", unroll, 1, 1024);
    v.Num("max_unacked", max_unacked, 1, 100000);
    v.Num("max_retained_mb", max_retained_mb, 0, 1000000);
    v.Num("torch_threads", torch_threads, 1, 256);
    v.Str("learner_addr", learner_addr);
    v.Num("heartbeat_interval_s", heartbeat_interval_s, 0.05, 3600.0);
  }
};

struct LearnerConfig {
  std::string listen = "127.0.0.1:0";  // port 0: pick a free port
  std::string device = "auto";
  int64_t batch_size = 32;      // B, in env columns
  int64_t queue_capacity = 16;  // trajectories
  double learning_rate = 5e-4;
  double adam_eps = 1e-6;
  double gamma = 0.99;
  double rho_bar = 1.0;
  double c_bar = 1.0;
  double clip_ratio = 0.1;
  double value_coef = 0.5;
  double entropy_coef = 0.01;
  double max_grad_norm = 4.0;
  bool normalize_advantages = true;
  int64_t max_policy_lag = 100;  // older trajectories are dropped (counted)
  int64_t publish_interval = 1;  // publish weights every N updates
  int64_t torch_threads = 1;
  int64_t max_message_mb = 64;
  bool cuda_graph = true;  // CUDA: replay the update from a CUDA graph
  bool bf16 = false;       // CUDA: forward and loss under bf16 autocast
  // An actor with no heartbeat and no trajectory for this long is dropped.
  double actor_timeout_s = 15;
  // Open trajectory streams at most; more are refused (RESOURCE_EXHAUSTED).
  int64_t max_streams = 256;
  // Per stream: a faster sender is read more slowly (its bytes wait in
  // HTTP/2 flow control, never in the learner's memory).
  double max_trajectories_per_s = 5000;

  template <class V>
  void Visit(V& v) {
    v.Str("listen", listen);
    v.Enum("device", device, {"auto", "cpu", "cuda"});
    v.Num("batch_size", batch_size, 1, 65536);
    v.Num("queue_capacity", queue_capacity, 1, 100000);
    v.Num("learning_rate", learning_rate, 1e-8, 1.0);
    v.Num("adam_eps", adam_eps, 1e-12, 1.0);
    v.Num("gamma", gamma, 0.0, 1.0);
    v.Num("rho_bar", rho_bar, 1e-3, 1e3);
    v.Num("c_bar", c_bar, 1e-3, 1e3);
    v.Num("clip_ratio", clip_ratio, 1e-3, 10.0);
    v.Num("value_coef", value_coef, 0.0, 100.0);
    v.Num("entropy_coef", entropy_coef, 0.0, 10.0);
    v.Num("max_grad_norm", max_grad_norm, 1e-3, 1e6);
    v.Bool("normalize_advantages", normalize_advantages);
    v.Num("max_policy_lag", max_policy_lag, 1, int64_t{1} << 40);
    v.Num("publish_interval", publish_interval, 1, 1000000);
    v.Num("torch_threads", torch_threads, 1, 256);
    v.Num("max_message_mb", max_message_mb, 1, 2000);
    v.Bool("cuda_graph", cuda_graph);
    v.Bool("bf16", bf16);
    v.Num("actor_timeout_s", actor_timeout_s, 0.1, 86400.0);
    v.Num("max_streams", max_streams, 1, 100000);
    v.Num("max_trajectories_per_s", max_trajectories_per_s, 0.1, 1e7);
  }
};

struct ModelConfig {
  int64_t char_embedding = 16;
  std::vector<int64_t> conv_channels = {32, 32};
  int64_t hidden = 256;
  int64_t stats_hidden = 64;
  int64_t message_hidden = 64;
  bool use_rnn = false;
  int64_t rnn_hidden = 256;

  template <class V>
  void Visit(V& v) {
    v.Num("char_embedding", char_embedding, 1, 1024);
    v.IntList("conv_channels", conv_channels, 1, 4096);
    v.Num("hidden", hidden, 1, 65536);
    v.Num("stats_hidden", stats_hidden, 1, 65536);
    v.Num("message_hidden", message_hidden, 1, 65536);
    v.Bool("use_rnn", use_rnn);
    v.Num("rnn_hidden", rnn_hidden, 1, 65536);
  }
};

// The reward (DESIGN.md, ONI's formula) and the reward server:
//   r = extrinsic_coef * clip(scale * r_ext, +-clip)
//       + intrinsic_coef * r_int(caption) * N_ep(caption)^(-count_exponent)
// r_int comes from the distilled reward model `model_kind`; `none` trains on
// the extrinsic reward only and runs no reward server.
struct RewardConfig {
  double extrinsic_coef = 1.0;
  double intrinsic_coef = 0.0;
  double scale = 1.0;
  double clip = 10.0;
  double count_exponent = 3.0;
  std::string model_kind = "none";  // none|retrieval|classification|ranking
  // Classification: r_int = 1 when P(helpful) > this.
  double classification_threshold = 0.5;
  // Classification: train on batches half helpful, half not (while both
  // exist). ONI samples uniformly; with rare helpful labels (1 % on NetHack
  // with word vectors) a uniform classifier says "not helpful" to all.
  bool balance_classes = false;
  // Ranking: r_int = the score normalised by running mean/std, zeroed where
  // it is below this quantile of the batch's normalised scores.
  double ranking_quantile = 0.5;
  // Ranking: caption pairs the learner asks about for each novel caption.
  int64_t pairs_per_caption = 2;
  std::string server_addr;  // set by `lantern run` or LANTERN_REWARD_ADDR
  // The reward server:
  std::string listen = "127.0.0.1:0";
  int64_t backlog_capacity = 100000;  // pending queries; the oldest drop
  int64_t train_batch_size = 256;
  double train_learning_rate = 1e-4;
  // Distillation schedule (ONI): this many steps per arriving label batch
  // while there are fewer than `schedule_switch_labels` labels, then one.
  int64_t steps_per_label_batch = 32;
  int64_t schedule_switch_labels = 25000;
  double publish_interval_s = 2.0;
  int64_t caption_length = 256;  // bytes the char-CNN reads (>= 123)
  int64_t torch_threads = 1;

  template <class V>
  void Visit(V& v) {
    v.Num("extrinsic_coef", extrinsic_coef, 0.0, 1e6);
    v.Num("intrinsic_coef", intrinsic_coef, 0.0, 1e6);
    v.Num("scale", scale, 0.0, 1e6);
    v.Num("clip", clip, 0.0, 1e9);
    v.Num("count_exponent", count_exponent, 0.0, 100.0);
    v.Enum("model_kind", model_kind,
           {"none", "retrieval", "classification", "ranking"});
    v.Num("classification_threshold", classification_threshold, 0.0, 1.0);
    v.Bool("balance_classes", balance_classes);
    v.Num("ranking_quantile", ranking_quantile, 0.0, 1.0);
    v.Num("pairs_per_caption", pairs_per_caption, 1, 100);
    v.Str("server_addr", server_addr);
    v.Str("listen", listen);
    v.Num("backlog_capacity", backlog_capacity, 1, int64_t{1} << 32);
    v.Num("train_batch_size", train_batch_size, 1, 65536);
    v.Num("train_learning_rate", train_learning_rate, 1e-8, 1.0);
    v.Num("steps_per_label_batch", steps_per_label_batch, 0, 100000);
    v.Num("schedule_switch_labels", schedule_switch_labels, 0,
          int64_t{1} << 40);
    v.Num("publish_interval_s", publish_interval_s, 0.01, 3600.0);
    v.Num("caption_length", caption_length, 123, 4096);
    v.Num("torch_threads", torch_threads, 1, 256);
  }
};

// Who labels the captions (DESIGN.md "Annotators").
struct AnnotatorConfig {
  std::string kind = "embedding";  // llm|embedding|rules|model
  // What the agent should achieve, in words: the LLM prompts' {goal} and the
  // embedding annotator's target text.
  std::string goal = "find the key, unlock the door and go down the stairs";
  int64_t concurrency = 4;  // annotation requests in flight
  // llm: an OpenAI-compatible server.
  std::string url = "http://127.0.0.1:8089";
  std::string endpoint = "chat";  // chat|completions
  std::string llm_model = "annot";
  std::string api_key_env = "LANTERN_LLM_API_KEY";  // unset: no key is sent
  std::string classification_prompt = "configs/prompts/classify_oni.txt";
  std::string ranking_prompt = "configs/prompts/rank_motif.txt";
  std::string prompt_version = "oni-v1";
  bool grammar = true;  // constrain the answer with a label grammar (llama.cpp)
  int64_t max_tokens = 256;
  double temperature = 0.1;
  double timeout_s = 30.0;
  int64_t max_retries = 4;          // for HTTP errors and timeouts
  double backoff_initial_s = 0.25;  // doubled per retry, with jitter
  double backoff_max_s = 8.0;
  int64_t unknown_retries = 2;  // asks again after an unparseable answer
  // embedding: GloVe vectors converted by scripts/fetch_embeddings.sh.
  std::string vectors = "";  // empty: $LANTERN_DATA or ~/.cache/lantern
  double similarity_threshold = 0.7;
  // rules: "label=regex" items, label helpful|unhelpful; first match wins,
  // no match is unhelpful.
  std::vector<std::string> rules;
  // model: a reward-model file written by the reward server.
  std::string teacher = "";

  template <class V>
  void Visit(V& v) {
    v.Enum("kind", kind, {"llm", "embedding", "rules", "model"});
    v.Str("goal", goal);
    v.Num("concurrency", concurrency, 1, 1024);
    v.Str("url", url);
    v.Enum("endpoint", endpoint, {"chat", "completions"});
    v.Str("llm_model", llm_model);
    v.Str("api_key_env", api_key_env);
    v.Str("classification_prompt", classification_prompt);
    v.Str("ranking_prompt", ranking_prompt);
    v.Str("prompt_version", prompt_version);
    v.Bool("grammar", grammar);
    v.Num("max_tokens", max_tokens, 1, 65536);
    v.Num("temperature", temperature, 0.0, 10.0);
    v.Num("timeout_s", timeout_s, 0.01, 3600.0);
    v.Num("max_retries", max_retries, 0, 100);
    v.Num("backoff_initial_s", backoff_initial_s, 0.0, 3600.0);
    v.Num("backoff_max_s", backoff_max_s, 0.0, 3600.0);
    v.Num("unknown_retries", unknown_retries, 0, 100);
    v.Str("vectors", vectors);
    v.Num("similarity_threshold", similarity_threshold, -1.0, 1.0);
    v.StrList("rules", rules);
    v.Str("teacher", teacher);
  }
};

// Observability: each role's Prometheus /metrics, and the scalars the
// learner and the reward server write every run.stats_interval_s to
// <run dir>/metrics/ (TensorBoard event files and CSV).
struct MetricsConfig {
  // host:port of each role's /metrics; port 0 picks a free one (the address
  // is written to <run dir>/metrics/<role>.addr); empty: off.
  std::string learner_listen = "127.0.0.1:0";
  std::string reward_listen = "127.0.0.1:0";
  std::string actor_listen = "127.0.0.1:0";
  bool tensorboard = true;
  bool csv = true;

  template <class V>
  void Visit(V& v) {
    v.Str("learner_listen", learner_listen);
    v.Str("reward_listen", reward_listen);
    v.Str("actor_listen", actor_listen);
    v.Bool("tensorboard", tensorboard);
    v.Bool("csv", csv);
  }
};

// TLS and bearer tokens on every gRPC service (common/security.h). TLS is on
// when tls_cert is set; a token needs TLS.
struct SecurityConfig {
  std::string tls_cert;         // the servers' certificate chain (PEM)
  std::string tls_key;          // its private key (PEM)
  std::string tls_ca;           // CA the clients trust; "": system roots
  std::string tls_server_name;  // name expected in the certificate; "": host
  std::string token_file;  // bearer token every RPC must carry; "": token_env
  std::string token_env = "LANTERN_TOKEN";  // unset or empty: no token

  template <class V>
  void Visit(V& v) {
    v.Str("tls_cert", tls_cert);
    v.Str("tls_key", tls_key);
    v.Str("tls_ca", tls_ca);
    v.Str("tls_server_name", tls_server_name);
    v.Str("token_file", token_file);
    v.Str("token_env", token_env);
  }
};

struct Config {
  RunConfig run;
  EnvConfig env;
  ActorConfig actor;
  LearnerConfig learner;
  ModelConfig model;
  RewardConfig reward;
  AnnotatorConfig annotator;
  MetricsConfig metrics;
  SecurityConfig security;
  DeployConfig deploy;  // lantern render / launch (common/deploy_config.h)

  template <class V>
  void Visit(V& v) {
    v.Section("run", run);
    v.Section("env", env);
    v.Section("actor", actor);
    v.Section("learner", learner);
    v.Section("model", model);
    v.Section("reward", reward);
    v.Section("annotator", annotator);
    v.Section("metrics", metrics);
    v.Section("security", security);
    v.Section("deploy", deploy);
  }

  // <run.dir>/<run.name>
  std::string RunDir() const;
  // <run dir>/metrics
  std::string MetricsDir() const { return RunDir() + "/metrics"; }

  // gRPC's message size limit for every role: above learner.max_message_mb,
  // so that an oversized trajectory is rejected by validation, with a
  // reason, rather than by gRPC, which would break the stream.
  int MaxGrpcMessageBytes() const;
};

// Reads a YAML config file, applies `--set section.key=value` overrides and
// validates everything. On failure the status is INVALID_ARGUMENT and its
// message lists every problem, one per line, each with its key path and line.
absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const std::vector<std::string>& overrides);

// Same, from YAML text; `source` names it in error messages.
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text,
                                   const std::string& source,
                                   const std::vector<std::string>& overrides);

// The whole effective config as YAML (every key, defaults included).
std::string ConfigToYaml(const Config& config);

}  // namespace lantern::common
