// The reward server's LLM path against a plain HTTP loop, both on the real
// llama-server (scripts/llm_server.sh: a random-weight model of
// SmolLM2-135M's shape) in the same run:
//  - plain: `concurrency` threads POST the annotator's own request bodies
//    (same prompt, grammar, max_tokens) one after another, nothing else;
//  - served: lantern-reward-server (llm annotator, the same concurrency)
//    labels as many distinct captions, submitted over gRPC, stored durably.
// plain runs before and after the served run; ratio = served labels/s over
// their mean requests/s.
//
//   bench_llm_client [--captions N] [--concurrency K]
//
// Last line: {"name":"llm_client","labels_per_s":...,"plain_per_s":...,
// "ratio":...}
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/flags.h"
#include "cli/process.h"
#include "common/config.h"
#include "common/files.h"
#include "lantern/v1/reward.grpc.pb.h"
#include "reward_server/llm/http_client.h"
#include "reward_server/llm/llm_prompt.h"
#include "testing/llama_server.h"

namespace {

namespace llm = lantern::reward::llm;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string Caption(const std::string& run, int i) {
  return absl::StrCat("You see a ", run, " item number ", i, " here.");
}

// Requests/s of `k` threads posting the annotator's bodies back to back.
double PlainLoop(const std::string& url, const llm::PromptTemplate& prompt,
                 const lantern::common::AnnotatorConfig& a,
                 const std::string& run, int n, int k) {
  std::atomic<int> next{0}, failed{0};
  const auto start = Clock::now();
  std::vector<std::jthread> threads;
  for (int t = 0; t < k; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < n;) {
        const std::string body = llm::BuildRequestBody(
            llm::Endpoint::kChat, llm::Task::kClassify,
            prompt.Render(a.goal, {.first = Caption(run, i)}),
            {.model = a.llm_model,
             .temperature = a.temperature,
             .max_tokens = a.max_tokens,
             .grammar = a.grammar});
        absl::StatusOr<llm::HttpResponse> r =
            llm::HttpClient::Post({.url = url + "/v1/chat/completions",
                                   .body = body,
                                   .timeout_s = a.timeout_s},
                                  std::stop_token());
        if (!r.ok() || r->status != 200) failed.fetch_add(1);
      }
    });
  }
  threads.clear();
  if (failed.load() > 0)
    std::fprintf(stderr, "%d plain requests failed\n", failed.load());
  return n / Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  int captions = 48, concurrency = 4;
  lantern::bench::Flags flags(argc, argv,
                              "bench_llm_client [--captions N] "
                              "[--concurrency K]",
                              {});
  flags.Get("--captions", &captions);
  flags.Get("--concurrency", &concurrency);
  flags.Done(captions > 0 && concurrency > 0);

  const std::string source = LANTERN_SOURCE_DIR;
  absl::StatusOr<std::unique_ptr<lantern::testing::LlamaServer>> server =
      lantern::testing::LlamaServer::Start(source, 0, concurrency);
  if (!server.ok()) {
    std::fprintf(stderr, "llama-server: %s\n",
                 server.status().ToString().c_str());
    return 1;
  }
  const std::string url = (*server)->url();
  const std::string dir = absl::StrCat("/tmp/lantern_bench_llm_", ::getpid());
  std::filesystem::remove_all(dir);
  const std::vector<std::string> sets = {
      "run.dir=" + dir,
      "run.name=bench",
      "reward.model_kind=retrieval",
      "annotator.url=" + url,
      absl::StrCat("annotator.concurrency=", concurrency),
      "annotator.classification_prompt=" + source +
          "/configs/prompts/classify_oni.txt",
      "annotator.ranking_prompt=" + source + "/configs/prompts/rank_motif.txt"};
  absl::StatusOr<lantern::common::Config> config = lantern::common::LoadConfig(
      source + "/configs/sparse_oni_llm.yaml", sets);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<llm::PromptTemplate> prompt = llm::PromptTemplate::Load(
      config->annotator.classification_prompt, llm::Task::kClassify);
  if (!prompt.ok()) return 1;

  const double plain_before =
      PlainLoop(url, *prompt, config->annotator, "warm", captions, concurrency);

  std::vector<std::string> command = {
      std::string(LANTERN_BIN_DIR) + "/lantern-reward-server", "--config",
      source + "/configs/sparse_oni_llm.yaml"};
  for (const std::string& s : sets) {
    command.push_back("--set");
    command.push_back(s);
  }
  absl::StatusOr<lantern::cli::Process> rs =
      lantern::cli::Process::Start(command, /*quiet=*/true);
  if (!rs.ok()) return 1;
  const std::string addr_file = dir + "/bench/reward.addr";
  std::string address;
  for (auto start = Clock::now(); Seconds(start) < 60;) {
    absl::StatusOr<std::string> a = lantern::common::ReadFile(addr_file);
    if (a.ok() && !a->empty() && a->back() == '\n') {
      address = a->substr(0, a->size() - 1);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (address.empty()) {
    std::fprintf(stderr, "the reward server did not start\n");
    return 1;
  }
  auto stub = lantern::v1::RewardServer::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  lantern::v1::SubmitCaptionsRequest request;
  for (int i = 0; i < captions; ++i) {
    request.add_captions(Caption("served", i));
  }
  const auto start = Clock::now();
  grpc::ClientContext context;
  lantern::v1::SubmitCaptionsResponse response;
  if (!stub->SubmitCaptions(&context, request, &response).ok()) return 1;
  lantern::v1::RewardStatus status;
  while (Seconds(start) < 600) {
    grpc::ClientContext c;
    if (stub->GetStatus(&c, lantern::v1::RewardStatusRequest(), &status).ok() &&
        status.labels_total() + status.given_up() >= uint64_t(captions)) {
      break;
    }
    // Coarse: status calls take CPU from the LLM server on a small machine
    // (100 ms is 0.1 % of a run of this length).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double served = status.labels_total() / Seconds(start);
  rs->Signal(SIGTERM);
  rs->Wait();

  const double plain_after =
      PlainLoop(url, *prompt, config->annotator, "cool", captions, concurrency);
  const double plain = (plain_before + plain_after) / 2;
  std::printf(
      "plain %.2f then %.2f req/s; served %.2f labels/s (%llu labels, %llu "
      "given up, latency p50 %.0f ms p99 %.0f ms)\n",
      plain_before, plain_after, served,
      static_cast<unsigned long long>(status.labels_total()),
      static_cast<unsigned long long>(status.given_up()),
      status.latency_p50_ms(), status.latency_p99_ms());
  std::printf(
      "{\"name\":\"llm_client\",\"captions\":%d,\"concurrency\":%d,"
      "\"labels_per_s\":%.3f,\"plain_per_s\":%.3f,\"ratio\":%.3f,"
      "\"latency_p50_ms\":%.1f,\"latency_p99_ms\":%.1f}\n",
      captions, concurrency, served, plain, served / plain,
      status.latency_p50_ms(), status.latency_p99_ms());
  std::filesystem::remove_all(dir);
  return 0;
}
