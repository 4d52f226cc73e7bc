#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace lantern::e2e {

// An OpenAI-compatible chat endpoint on 127.0.0.1 for the reward server's
// end-to-end tests: answers each request after `delay` (the latency of a
// real model) with "Label: helpful", and counts the requests for each
// caption, found in the prompt as "item-<tag>". With faults on, a caption
// whose tag holds "garbled" always gets an unparseable answer and one
// whose tag holds "flaky" gets HTTP 500 twice before a good answer. The
// real LLM server (scripts/llm_server.sh) is tested separately; these
// fault shapes cannot be produced with it.
class FakeLlm {
 public:
  explicit FakeLlm(std::chrono::milliseconds delay);
  ~FakeLlm();  // wakes waiting handlers, then stops

  std::string url() const;  // http://127.0.0.1:<port>
  void set_faults(bool on);
  // While held, requests are counted but not answered.
  void set_hold(bool on);
  // Waits until `n` requests wait in the hold; false after `timeout`.
  bool WaitForHeld(int n, std::chrono::seconds timeout);

  // Requests seen per caption tag ("item-7", ...).
  std::map<std::string, int> RequestsPerCaption() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lantern::e2e
