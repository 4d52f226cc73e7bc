#pragma once

#include <memory>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "reward_server/annotator.h"
#include "reward_server/llm/llm_prompt.h"

namespace lantern::reward {

// The largest sleep before retry number `retry` (0 = the first retry):
// min(max_s, initial_s * 2^retry), never above max_s and never overflowing.
double BackoffCeiling(int64_t retry, double initial_s, double max_s);

// "Full jitter": a uniform draw from [0, BackoffCeiling(...)].
double JitteredBackoff(int64_t retry, double initial_s, double max_s,
                       std::mt19937_64& rng);

// Labels captions with an OpenAI-compatible LLM server (llama.cpp's
// llama-server, vLLM, Ollama, FastChat): ONI's helpful/unhelpful
// classification for one caption, Motif's "which shows more progress" for
// two. Prompts come from template files (see PromptTemplate); answers are
// parsed strictly (see llm_answer.h) and an unparseable one is never a
// label.
//
// Each Annotate call makes one request at a time; the server bounds how many
// calls run at once (annotator.concurrency). Thread-safe.
class LlmAnnotator : public Annotator {
 public:
  // Loads both prompt templates (errors name the file) and reads the API
  // key from the environment variable named by config.api_key_env (unset or
  // empty: no Authorization header). INVALID_ARGUMENT for a bad endpoint;
  // the template's error otherwise. Does not contact the server.
  static absl::StatusOr<std::unique_ptr<LlmAnnotator>> Create(
      const common::AnnotatorConfig& config);

  std::string_view kind() const override { return "llm"; }

  // Renders the query's prompt and POSTs it, blocking until an answer is
  // parsed or given up on. Per request:
  //  - HTTP 5xx, 429, connection failures and timeouts are retried up to
  //    max_retries times, sleeping JitteredBackoff between tries;
  //  - other non-2xx statuses are not retried: the error (INVALID_ARGUMENT,
  //    UNAUTHENTICATED for 401, PERMISSION_DENIED for 403, NOT_FOUND for
  //    404) names the status and the start of the body;
  //  - a 2xx answer that does not parse (bad JSON, no label) is asked again
  //    up to unknown_retries times, then returned with Label::kUnknown.
  // After the retries, returns the last failure: UNAVAILABLE (HTTP status or
  // connection) or DEADLINE_EXCEEDED (timeout). CANCELLED as soon as `stop`
  // is requested, also during a request or a backoff sleep.
  //
  // Counters: every request is an attempt; every request after the first of
  // a call is a retry (re-asks after unparseable answers included); each
  // non-2xx status, connection failure or timeout is an error, timeouts also
  // count in `timeouts`; each unparseable 2xx answer is an unknown answer. A
  // request cut short by `stop` is an attempt but not an error.
  absl::StatusOr<Annotation> Annotate(const Query& query,
                                      std::stop_token stop) override;

  // The URL requests go to, e.g. "http://127.0.0.1:8089/v1/chat/completions".
  const std::string& endpoint_url() const { return endpoint_url_; }

 private:
  LlmAnnotator(common::AnnotatorConfig config, llm::Endpoint endpoint,
               llm::PromptTemplate classify, llm::PromptTemplate rank,
               std::string api_key);

  // One request with its transport retries: the 2xx body, or the error.
  // `first_request` is true until the call's first request is made.
  absl::StatusOr<std::string> Send(const std::string& body, bool* first_request,
                                   std::stop_token stop);
  // Sleeps JitteredBackoff(retry); false if `stop` ended the sleep.
  bool Backoff(int64_t retry, std::stop_token stop);

  const common::AnnotatorConfig config_;
  const llm::Endpoint endpoint_;
  const llm::PromptTemplate classify_;
  const llm::PromptTemplate rank_;
  const std::string endpoint_url_;
  const llm::RequestOptions options_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

}  // namespace lantern::reward
