#include "tests/e2e/fake_llm.h"

#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

namespace lantern::e2e {

struct FakeLlm::Impl {
  std::chrono::milliseconds delay;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  mutable std::mutex mu;
  std::condition_variable closing_cv;
  bool closing = false;
  bool faults = false;
  bool hold = false;
  int held = 0;  // requests waiting in the hold
  std::map<std::string, int> requests;

  void Handle(const httplib::Request& req, httplib::Response& res) {
    static const std::regex kTag("item-[A-Za-z0-9-]+");
    std::smatch m;
    const std::string tag =
        std::regex_search(req.body, m, kTag) ? m.str() : "none";
    int n;
    bool faults_on;
    {
      std::unique_lock lock(mu);
      n = ++requests[tag];
      faults_on = faults;
      // The model's latency; ends early when the server goes away.
      closing_cv.wait_for(lock, delay, [&] { return closing; });
      if (hold) {
        ++held;
        closing_cv.notify_all();
        closing_cv.wait(lock, [&] { return closing || !hold; });
        --held;
      }
    }
    std::string content = "Analysis: it shows progress.\nLabel: helpful";
    if (faults_on && tag.find("garbled") != std::string::npos) {
      content = "I cannot decide, sorry";
    }
    if (faults_on && tag.find("flaky") != std::string::npos && n <= 2) {
      res.status = 500;
      res.set_content("{\"error\":\"overloaded\"}", "application/json");
      return;
    }
    const nlohmann::json body = {
        {"model", "fake"},
        {"choices",
         {{{"index", 0},
           {"finish_reason", "stop"},
           {"message", {{"role", "assistant"}, {"content", content}}}}}}};
    res.set_content(body.dump(), "application/json");
  }
};

FakeLlm::FakeLlm(std::chrono::milliseconds delay)
    : impl_(std::make_unique<Impl>()) {
  impl_->delay = delay;
  impl_->server.Post("/v1/chat/completions", [this](const httplib::Request& req,
                                                    httplib::Response& res) {
    impl_->Handle(req, res);
  });
  // Bound and listening from here: connections queue until the loop runs.
  impl_->port = impl_->server.bind_to_any_port("127.0.0.1");
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
}

FakeLlm::~FakeLlm() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->closing_cv.notify_all();
  impl_->server.stop();
  impl_->thread.join();
}

std::string FakeLlm::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void FakeLlm::set_faults(bool on) {
  std::lock_guard lock(impl_->mu);
  impl_->faults = on;
}

void FakeLlm::set_hold(bool on) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->hold = on;
  }
  impl_->closing_cv.notify_all();
}

bool FakeLlm::WaitForHeld(int n, std::chrono::seconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->closing_cv.wait_for(lock, timeout,
                                    [&] { return impl_->held >= n; });
}

std::map<std::string, int> FakeLlm::RequestsPerCaption() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

}  // namespace lantern::e2e
