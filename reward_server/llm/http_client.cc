#include "reward_server/llm/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "absl/status/status.h"

namespace lantern::reward::llm {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle and one multi handle per thread. The multi handle owns the
// connection cache, so a thread's successive requests to the same server
// reuse a keep-alive connection; the multi interface also lets another
// thread wake a transfer (curl_multi_wakeup), which is how a stop request
// cuts a slow request short at once: the progress callback would only run
// about once a second while the server is silent.
struct ThreadHandles {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  ThreadHandles() {
    GlobalInitOnce();
    easy = curl_easy_init();
    multi = curl_multi_init();
  }
  ~ThreadHandles() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
  ThreadHandles(const ThreadHandles&) = delete;
  ThreadHandles& operator=(const ThreadHandles&) = delete;
};

// A loopback server is never reached through a proxy: the user's no_proxy
// list is kept and loopback added, so an http_proxy in the environment cannot
// send requests for a local llama-server elsewhere.
const std::string& NoProxyList() {
  static const std::string list = [] {
    std::string hosts = "localhost,127.0.0.1,::1";
    for (const char* name : {"no_proxy", "NO_PROXY"}) {
      const char* value = std::getenv(name);
      if (value == nullptr || *value == '\0') continue;
      // curl honours "*" (no proxy at all) only as the whole list.
      return std::string(value) == "*" ? std::string("*")
                                       : std::string(value) + "," + hosts;
    }
    return hosts;
  }();
  return list;
}

struct Sink {
  std::string* body;
  size_t limit;
  bool overflow = false;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (sink->body->size() + n > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

// Removes the easy handle from the multi handle on every exit path; the
// connection itself stays cached in the multi handle.
class Attached {
 public:
  Attached(CURLM* multi, CURL* easy) : multi_(multi), easy_(easy) {
    ok_ = curl_multi_add_handle(multi_, easy_) == CURLM_OK;
  }
  ~Attached() {
    if (ok_) curl_multi_remove_handle(multi_, easy_);
  }
  bool ok() const { return ok_; }

 private:
  CURLM* multi_;
  CURL* easy_;
  bool ok_;
};

absl::Status CurlError(CURLcode code, const std::string& url,
                       const char* detail) {
  const std::string what =
      url + ": " + (detail[0] != '\0' ? detail : curl_easy_strerror(code));
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError("timed out: " + what);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return absl::UnavailableError("cannot connect: " + what);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return absl::UnavailableError("connection failed: " + what);
    default:
      return absl::InvalidArgumentError("request failed: " + what);
  }
}

}  // namespace

absl::StatusOr<HttpResponse> HttpClient::Post(const HttpRequest& request,
                                              std::stop_token stop) {
  if (stop.stop_requested()) return absl::CancelledError("stop requested");
  thread_local ThreadHandles handles;
  if (handles.easy == nullptr || handles.multi == nullptr) {
    return absl::InternalError("curl handles could not be created");
  }
  CURL* easy = handles.easy;
  curl_easy_reset(easy);

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  // Without this, curl may wait for a "100 Continue" before sending a long
  // body, which costs up to a second per request with some servers.
  headers = curl_slist_append(headers, "Expect:");
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_owner(
      headers, &curl_slist_free_all);

  HttpResponse response;
  Sink sink{&response.body, request.max_body_bytes};
  char error[CURL_ERROR_SIZE] = {0};
  const long timeout_ms =
      std::max(1L, std::lround(std::max(request.timeout_s, 0.0) * 1000.0));
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM across threads
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOPROXY, NoProxyList().c_str());

  Attached attached(handles.multi, easy);
  if (!attached.ok()) return absl::InternalError("curl_multi_add_handle");
  {
    // Declared after the handles it uses, so it is gone before they are.
    std::stop_callback wake(
        stop, [multi = handles.multi] { curl_multi_wakeup(multi); });
    int running = 1;
    while (running > 0) {
      if (curl_multi_perform(handles.multi, &running) != CURLM_OK) {
        return absl::InternalError("curl_multi_perform failed");
      }
      if (running == 0) break;
      if (stop.stop_requested()) return absl::CancelledError("stop requested");
      // Returns on socket activity, curl's own timer, or a wakeup.
      curl_multi_poll(handles.multi, nullptr, 0, 1000, nullptr);
      if (stop.stop_requested()) return absl::CancelledError("stop requested");
    }
  }
  CURLcode code = CURLE_OK;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(handles.multi, &left)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
      code = msg->data.result;
    }
  }
  if (sink.overflow) {
    return absl::ResourceExhaustedError(
        request.url + ": response body larger than " +
        std::to_string(request.max_body_bytes) + " bytes");
  }
  if (code != CURLE_OK) return CurlError(code, request.url, error);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace lantern::reward::llm
