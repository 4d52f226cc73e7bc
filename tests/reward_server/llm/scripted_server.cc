#include "tests/reward_server/llm/scripted_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

namespace lantern::reward::testing {
namespace {

bool EqualNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string RecordedRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualNoCase(key, name)) return value;
  }
  return "";
}

bool RecordedRequest::HasHeader(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualNoCase(key, name)) return true;
  }
  return false;
}

struct ScriptedServer::Impl {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::deque<ScriptedReply> script;
  ScriptedReply fallback{.status = 500, .body = "script exhausted"};
  std::vector<RecordedRequest> requests;
  bool released = false;

  void Handle(const httplib::Request& req, httplib::Response& res) {
    ScriptedReply reply;
    {
      std::unique_lock lock(mutex);
      RecordedRequest record{.path = req.path,
                             .body = req.body,
                             .headers = {},
                             .arrived = std::chrono::steady_clock::now()};
      for (const auto& [key, value] : req.headers) {
        record.headers.emplace(key, value);
      }
      requests.push_back(std::move(record));
      if (script.empty()) {
        reply = fallback;
      } else {
        reply = std::move(script.front());
        script.pop_front();
      }
      changed.notify_all();
      if (reply.hang) {
        changed.wait(lock, [this] { return released; });
        reply.status = 503;
      }
    }
    res.status = reply.status;
    res.set_content(reply.body, "application/json");
  }
};

ScriptedServer::ScriptedServer() : impl_(std::make_unique<Impl>()) {
  Impl* impl = impl_.get();
  // One request per connection: an idle keep-alive connection would hold a
  // server thread (and the destructor) for up to 5 s.
  impl->server.set_keep_alive_max_count(1);
  impl->server.Post(
      ".*", [impl](const httplib::Request& req, httplib::Response& res) {
        impl->Handle(req, res);
      });
  impl->port = impl->server.bind_to_any_port("127.0.0.1");
  if (impl->port <= 0) throw std::runtime_error("cannot bind 127.0.0.1:0");
  impl->thread = std::thread([impl] { impl->server.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs; wait for it (the socket
  // already listens, so this is only a few microseconds).
  while (!impl->server.is_running()) std::this_thread::yield();
}

ScriptedServer::~ScriptedServer() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->released = true;
  }
  impl_->changed.notify_all();
  impl_->server.stop();
  impl_->thread.join();
}

int ScriptedServer::port() const { return impl_->port; }

std::string ScriptedServer::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void ScriptedServer::Push(ScriptedReply reply) {
  std::lock_guard lock(impl_->mutex);
  impl_->script.push_back(std::move(reply));
}

void ScriptedServer::SetDefault(ScriptedReply reply) {
  std::lock_guard lock(impl_->mutex);
  impl_->fallback = std::move(reply);
}

bool ScriptedServer::WaitForRequests(size_t n,
                                     std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout,
                                 [&] { return impl_->requests.size() >= n; });
}

std::vector<RecordedRequest> ScriptedServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

size_t ScriptedServer::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests.size();
}

std::string ChatResponse(std::string_view content, std::string_view model) {
  nlohmann::json body = {
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"model", model},
      {"choices",
       {{{"index", 0},
         {"finish_reason", "stop"},
         {"message", {{"role", "assistant"}, {"content", content}}}}}},
      {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}}}};
  return body.dump();
}

std::string CompletionResponse(std::string_view text, std::string_view model) {
  nlohmann::json body = {
      {"id", "cmpl-1"},
      {"object", "text_completion"},
      {"model", model},
      {"choices", {{{"index", 0}, {"finish_reason", "stop"}, {"text", text}}}}};
  return body.dump();
}

}  // namespace lantern::reward::testing
