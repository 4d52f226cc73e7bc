#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// A test HTTP server on 127.0.0.1 (the port the OS picked) that answers
// every POST with the next scripted reply and records what it was sent.
namespace lantern::reward::testing {

struct ScriptedReply {
  int status = 200;
  std::string body;
  // Never answers: the handler waits until the server is destroyed (the
  // client's timeout or stop must end the exchange).
  bool hang = false;
};

struct RecordedRequest {
  std::string path;
  std::string body;
  std::multimap<std::string, std::string> headers;
  std::chrono::steady_clock::time_point arrived;

  // The first value of header `name` (case-insensitive); "" if absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

class ScriptedServer {
 public:
  ScriptedServer();
  ~ScriptedServer();  // releases hanging handlers, then stops
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  int port() const;
  std::string url() const;  // "http://127.0.0.1:<port>"

  // Queues the reply to the next request without one. When the queue is
  // empty, the default reply is used (HTTP 500 "script exhausted" unless
  // SetDefault was called).
  void Push(ScriptedReply reply);
  void SetDefault(ScriptedReply reply);

  // Blocks until `n` requests have arrived; false after `timeout`.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout =
                                     std::chrono::seconds(10)) const;
  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Response bodies as llama-server writes them.
std::string ChatResponse(std::string_view content,
                         std::string_view model = "served-model");
std::string CompletionResponse(std::string_view text,
                               std::string_view model = "served-model");

}  // namespace lantern::reward::testing
