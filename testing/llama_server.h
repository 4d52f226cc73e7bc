#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/process.h"

namespace lantern::testing {

// The real llama.cpp server on 127.0.0.1, for the reward server's
// integration test and the llm_client benchmark: the binary and the
// random-weight model (SmolLM2-135M's shape) come from
// `scripts/llm_server.sh paths`, which builds them once per machine.
class LlamaServer {
 public:
  // Starts it on `port` (0: a free one) with `slots` parallel slots and
  // waits (up to 120 s) until it answers a chat request.
  static absl::StatusOr<std::unique_ptr<LlamaServer>> Start(
      const std::string& source_dir, int port, int slots);
  ~LlamaServer();

  // SIGKILL, as a crash would.
  void Kill();
  // Starts it again on the same port and waits until it answers.
  absl::Status Restart();

  std::string url() const;  // http://127.0.0.1:<port>

 private:
  LlamaServer(std::string binary, std::string model, int port, int slots)
      : binary_(std::move(binary)),
        model_(std::move(model)),
        port_(port),
        slots_(slots) {}
  absl::Status Launch();

  const std::string binary_, model_;
  const int port_, slots_;
  std::unique_ptr<cli::Process> process_;
};

}  // namespace lantern::testing
