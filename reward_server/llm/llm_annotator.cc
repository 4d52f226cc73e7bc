#include "reward_server/llm/llm_annotator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "absl/status/status.h"
#include "reward_server/llm/http_client.h"
#include "reward_server/llm/llm_answer.h"

namespace lantern::reward {
namespace {

// The start of a body, printable, for error messages.
std::string BodyStart(std::string_view body) {
  constexpr size_t kMax = 200;
  std::string out = llm::SanitizeText(body.substr(0, kMax));
  if (body.size() > kMax) out += "...";
  return out.empty() ? "(empty body)" : out;
}

absl::Status HttpStatusError(long status, std::string_view body,
                             const std::string& url) {
  const std::string message = "LLM server " + url + " answered HTTP " +
                              std::to_string(status) + ": " + BodyStart(body);
  if (status == 429 || status >= 500) return absl::UnavailableError(message);
  switch (status) {
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    default:
      return absl::InvalidArgumentError(message);
  }
}

std::mt19937_64& ThreadRng() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng;
}

}  // namespace

double BackoffCeiling(int64_t retry, double initial_s, double max_s) {
  if (!(initial_s > 0) || !(max_s > 0)) return 0;
  // ldexp saturates to +inf rather than overflowing.
  const int exponent = static_cast<int>(std::clamp<int64_t>(retry, 0, 4096));
  return std::min(max_s, std::ldexp(initial_s, exponent));
}

double JitteredBackoff(int64_t retry, double initial_s, double max_s,
                       std::mt19937_64& rng) {
  const double ceiling = BackoffCeiling(retry, initial_s, max_s);
  if (ceiling <= 0) return 0;
  return std::uniform_real_distribution<double>(0.0, ceiling)(rng);
}

absl::StatusOr<std::unique_ptr<LlmAnnotator>> LlmAnnotator::Create(
    const common::AnnotatorConfig& config) {
  absl::StatusOr<llm::Endpoint> endpoint =
      llm::EndpointFromName(config.endpoint);
  if (!endpoint.ok()) return endpoint.status();
  absl::StatusOr<llm::PromptTemplate> classify = llm::PromptTemplate::Load(
      config.classification_prompt, llm::Task::kClassify);
  if (!classify.ok()) return classify.status();
  absl::StatusOr<llm::PromptTemplate> rank =
      llm::PromptTemplate::Load(config.ranking_prompt, llm::Task::kRank);
  if (!rank.ok()) return rank.status();
  std::string api_key;
  if (!config.api_key_env.empty()) {
    if (const char* value = std::getenv(config.api_key_env.c_str())) {
      api_key = value;
    }
  }
  return std::unique_ptr<LlmAnnotator>(
      new LlmAnnotator(config, *endpoint, *std::move(classify),
                       *std::move(rank), std::move(api_key)));
}

LlmAnnotator::LlmAnnotator(common::AnnotatorConfig config,
                           llm::Endpoint endpoint, llm::PromptTemplate classify,
                           llm::PromptTemplate rank, std::string api_key)
    : config_(std::move(config)),
      endpoint_(endpoint),
      classify_(std::move(classify)),
      rank_(std::move(rank)),
      endpoint_url_(llm::EndpointUrl(config_.url, endpoint)),
      options_{.model = config_.llm_model,
               .temperature = config_.temperature,
               .max_tokens = config_.max_tokens,
               .grammar = config_.grammar} {
  if (!api_key.empty()) {
    headers_.emplace_back("Authorization", "Bearer " + api_key);
  }
}

absl::StatusOr<Annotation> LlmAnnotator::Annotate(const Query& query,
                                                  std::stop_token stop) {
  const llm::Task task =
      query.is_pair() ? llm::Task::kRank : llm::Task::kClassify;
  const llm::PromptTemplate& prompt =
      task == llm::Task::kRank ? rank_ : classify_;
  const std::string body = llm::BuildRequestBody(
      endpoint_, task, prompt.Render(config_.goal, query), options_);

  Annotation out;
  out.prompt_version = config_.prompt_version;
  bool first_request = true;
  for (int64_t ask = 0; ask <= config_.unknown_retries; ++ask) {
    absl::StatusOr<std::string> reply = Send(body, &first_request, stop);
    if (!reply.ok()) return reply.status();
    out.model = config_.llm_model;
    absl::StatusOr<llm::ResponseText> text =
        llm::ExtractResponseText(*reply, endpoint_);
    if (!text.ok()) {
      // No answer text to keep: keep the body, to see what went wrong.
      out.raw_answer = *std::move(reply);
      counters_.unknown_answers.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (!text->model.empty()) out.model = text->model;
    out.raw_answer = std::move(text->text);
    const llm::ParsedAnswer parsed = llm::ParseAnswer(task, out.raw_answer);
    if (parsed.label != Label::kUnknown) {
      out.label = parsed.label;
      return out;
    }
    counters_.unknown_answers.fetch_add(1, std::memory_order_relaxed);
  }
  out.label = Label::kUnknown;
  return out;
}

absl::StatusOr<std::string> LlmAnnotator::Send(const std::string& body,
                                               bool* first_request,
                                               std::stop_token stop) {
  const llm::HttpRequest request{.url = endpoint_url_,
                                 .body = body,
                                 .headers = headers_,
                                 .timeout_s = config_.timeout_s};
  for (int64_t retry = 0;; ++retry) {
    if (stop.stop_requested()) return absl::CancelledError("stop requested");
    counters_.attempts.fetch_add(1, std::memory_order_relaxed);
    if (!*first_request) {
      counters_.retries.fetch_add(1, std::memory_order_relaxed);
    }
    *first_request = false;

    absl::StatusOr<llm::HttpResponse> response =
        llm::HttpClient::Post(request, stop);
    absl::Status failure;
    bool retryable = false;
    if (response.ok()) {
      const long status = response->status;
      if (status >= 200 && status < 300) return std::move(response->body);
      failure = HttpStatusError(status, response->body, endpoint_url_);
      retryable = status == 429 || status >= 500;
    } else {
      const absl::StatusCode code = response.status().code();
      if (code == absl::StatusCode::kCancelled) return response.status();
      if (code == absl::StatusCode::kDeadlineExceeded) {
        counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      }
      failure = absl::Status(
          code, "LLM server: " + std::string(response.status().message()));
      retryable = code == absl::StatusCode::kDeadlineExceeded ||
                  code == absl::StatusCode::kUnavailable;
    }
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    if (!retryable) return failure;
    if (retry >= config_.max_retries) {
      return absl::Status(failure.code(),
                          std::string(failure.message()) + " (after " +
                              std::to_string(retry + 1) + " attempts)");
    }
    if (!Backoff(retry, stop)) return absl::CancelledError("stop requested");
  }
}

bool LlmAnnotator::Backoff(int64_t retry, std::stop_token stop) {
  const double seconds = JitteredBackoff(retry, config_.backoff_initial_s,
                                         config_.backoff_max_s, ThreadRng());
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  // Nothing notifies `cv` but a stop request: this is an interruptible sleep.
  cv.wait_for(lock, stop, std::chrono::duration<double>(seconds),
              [] { return false; });
  return !stop.stop_requested();
}

}  // namespace lantern::reward
