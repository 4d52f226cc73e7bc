#include "reward_server/llm/http_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "testing/local.h"
#include "tests/reward_server/llm/scripted_server.h"

namespace lantern::reward::llm {
namespace {

using std::chrono::steady_clock;
using testing::ScriptedReply;
using testing::ScriptedServer;

double SecondsSince(steady_clock::time_point t) {
  return std::chrono::duration<double>(steady_clock::now() - t).count();
}

TEST(HttpClientTest, PostsJsonWithHeadersAndReturnsTheBody) {
  ScriptedServer server;
  server.Push({.status = 200, .body = "{\"ok\":true}"});
  const HttpRequest request{.url = server.url() + "/v1/x",
                            .body = "{\"a\":1}",
                            .headers = {{"Authorization", "Bearer k"}},
                            .timeout_s = 5};
  auto response = HttpClient::Post(request, {});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"ok\":true}");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/x");
  EXPECT_EQ(requests[0].body, "{\"a\":1}");
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer k");
}

TEST(HttpClientTest, ReturnsErrorStatusesAsResponses) {
  ScriptedServer server;
  server.Push({.status = 503, .body = "busy"});
  auto response =
      HttpClient::Post({.url = server.url(), .body = "{}", .headers = {}}, {});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, "busy");
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  const std::string url =
      "http://127.0.0.1:" + std::to_string(::lantern::testing::PickFreePort());
  auto response =
      HttpClient::Post({.url = url, .body = "{}", .headers = {}}, {});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable)
      << response.status();
}

TEST(HttpClientTest, SlowServerIsDeadlineExceeded) {
  ScriptedServer server;
  server.Push({.status = 200, .body = "", .hang = true});
  const auto start = steady_clock::now();
  auto response = HttpClient::Post(
      {.url = server.url(), .body = "{}", .headers = {}, .timeout_s = 0.2}, {});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded)
      << response.status();
  EXPECT_GE(SecondsSince(start), 0.19);
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST(HttpClientTest, StopCancelsASlowRequestPromptly) {
  ScriptedServer server;
  server.Push({.status = 200, .body = "", .hang = true});
  std::stop_source stop;
  auto result = std::async(std::launch::async, [&] {
    return HttpClient::Post(
        {.url = server.url(), .body = "{}", .headers = {}, .timeout_s = 30},
        stop.get_token());
  });
  ASSERT_TRUE(server.WaitForRequests(1));
  const auto stopped = steady_clock::now();
  stop.request_stop();
  auto response = result.get();
  EXPECT_LT(SecondsSince(stopped), 5.0);  // the timeout is 30 s
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled);
}

TEST(HttpClientTest, AlreadyStoppedSendsNothing) {
  ScriptedServer server;
  std::stop_source stop;
  stop.request_stop();
  auto response = HttpClient::Post(
      {.url = server.url(), .body = "{}", .headers = {}}, stop.get_token());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(HttpClientTest, OversizedBodyAndBadUrlAreErrors) {
  ScriptedServer server;
  server.Push({.body = std::string(1000, 'x')});
  auto big = HttpClient::Post(
      {.url = server.url(), .body = "{}", .headers = {}, .max_body_bytes = 100},
      {});
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  auto bad = HttpClient::Post(
      {.url = "ftp://127.0.0.1/x", .body = "{}", .headers = {}}, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument)
      << bad.status();
}

TEST(HttpClientTest, LoopbackBypassesAnEnvironmentProxy) {
  ScriptedServer server;
  server.Push({.status = 200, .body = "direct"});
  const std::string proxy =
      "http://127.0.0.1:" + std::to_string(::lantern::testing::PickFreePort());
  setenv("http_proxy", proxy.c_str(), 1);
  auto response =
      HttpClient::Post({.url = server.url(), .body = "{}", .headers = {}}, {});
  unsetenv("http_proxy");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "direct");
}

TEST(HttpClientTest, ManyThreadsAtOnce) {
  ScriptedServer server;
  server.SetDefault({.status = 200, .body = "ok"});
  constexpr int kThreads = 4, kEach = 5;
  std::vector<std::future<int>> done;
  for (int t = 0; t < kThreads; ++t) {
    done.push_back(std::async(std::launch::async, [&] {
      int ok = 0;
      for (int i = 0; i < kEach; ++i) {
        auto r = HttpClient::Post(
            {.url = server.url(), .body = "{}", .headers = {}}, {});
        ok += r.ok() && r->status == 200 && r->body == "ok";
      }
      return ok;
    }));
  }
  for (auto& f : done) EXPECT_EQ(f.get(), kEach);
  EXPECT_EQ(server.request_count(), size_t{kThreads * kEach});
}

}  // namespace
}  // namespace lantern::reward::llm
