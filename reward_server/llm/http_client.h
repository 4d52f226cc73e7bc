#pragma once

#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace lantern::reward::llm {

// What an HTTP server answered: any status, 2xx or not.
struct HttpResponse {
  long status = 0;  // e.g. 200, 429, 500
  std::string body;
};

struct HttpRequest {
  std::string url;   // e.g. "http://127.0.0.1:8089/v1/chat/completions"
  std::string body;  // sent as application/json
  // Extra headers, e.g. {"Authorization", "Bearer ..."}.
  std::vector<std::pair<std::string, std::string>> headers;
  double timeout_s = 30;  // the whole exchange: connect, send, receive
  // A body above this is an error (protects against runaway responses).
  size_t max_body_bytes = 16 << 20;
};

// POSTs a JSON body with libcurl. Thread-safe: each calling thread keeps its
// own curl handles (and so its own keep-alive connections); libcurl's global
// state is initialised once, on first use.
class HttpClient {
 public:
  // Blocks until the server answers, `timeout_s` passes, or `stop` is
  // requested (a stop wakes the transfer at once: it does not wait for
  // libcurl's next progress tick). Returns the response whatever its HTTP
  // status, or:
  //  - UNAVAILABLE: the connection failed (refused, reset, no reply);
  //  - DEADLINE_EXCEEDED: `timeout_s` passed;
  //  - CANCELLED: `stop` was requested;
  //  - RESOURCE_EXHAUSTED: the body was larger than `max_body_bytes`;
  //  - INVALID_ARGUMENT: a bad URL or another non-transient curl error.
  static absl::StatusOr<HttpResponse> Post(const HttpRequest& request,
                                           std::stop_token stop);
};

}  // namespace lantern::reward::llm
