#include "testing/llama_server.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "reward_server/llm/http_client.h"
#include "testing/local.h"

namespace lantern::testing {
namespace {

// `key=value` from the output of `scripts/llm_server.sh paths`.
std::string Value(const std::string& text, const std::string& key) {
  const size_t at = text.find(key + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 1;
  return text.substr(start, text.find('\n', start) - start);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LlamaServer>> LlamaServer::Start(
    const std::string& source_dir, int port, int slots) {
  std::string out;
  if (RunCommand(source_dir + "/scripts/llm_server.sh paths", &out) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("scripts/llm_server.sh paths failed: ", out));
  }
  const std::string binary = Value(out, "server"), model = Value(out, "model");
  if (binary.empty() || model.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("scripts/llm_server.sh paths printed: ", out));
  }
  std::unique_ptr<LlamaServer> server(
      new LlamaServer(binary, model, port == 0 ? PickFreePort() : port, slots));
  if (absl::Status st = server->Launch(); !st.ok()) return st;
  return server;
}

LlamaServer::~LlamaServer() { Kill(); }

std::string LlamaServer::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

void LlamaServer::Kill() {
  if (process_ == nullptr) return;
  process_->Signal(SIGKILL);
  process_->Wait();
  process_.reset();
}

absl::Status LlamaServer::Restart() {
  Kill();
  return Launch();
}

absl::Status LlamaServer::Launch() {
  // OpenMP threads that spin while waiting ruin its latency whenever
  // anything else wants a core (scripts/llm_server.sh does the same).
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  absl::StatusOr<cli::Process> p = cli::Process::Start(
      {binary_, "-m", model_, "-t", "2", "-c", absl::StrCat(2048 * slots_),
       "-np", absl::StrCat(slots_), "--host", "127.0.0.1", "--port",
       absl::StrCat(port_), "--alias", "annot"},
      /*quiet=*/true);
  if (!p.ok()) return p.status();
  process_ = std::make_unique<cli::Process>(*p);
  // Ready when it answers a chat request (503 while the model loads).
  const reward::llm::HttpRequest probe{
      .url = url() + "/v1/chat/completions",
      .body = R"({"model":"annot","max_tokens":1,)"
              R"("messages":[{"role":"user","content":"hi"}]})",
      .timeout_s = 10};
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_->Poll().has_value()) {
      return absl::UnavailableError(
          absl::StrCat(binary_, " exited during start-up"));
    }
    absl::StatusOr<reward::llm::HttpResponse> r =
        reward::llm::HttpClient::Post(probe, std::stop_token());
    if (r.ok() && r->status == 200) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::DeadlineExceededError("llama-server did not become ready");
}

}  // namespace lantern::testing
