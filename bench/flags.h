#pragma once

// Command-line flags for the benchmarks: "--name value" pairs and "--name"
// switches. No dependencies beyond the standard library, so it also builds on
// a GPU machine that has only LibTorch.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace lantern::bench {

class Flags {
 public:
  // `switches` names the flags that take no value.
  Flags(int argc, char** argv, std::string usage,
        std::set<std::string> switches = {})
      : usage_(std::move(usage)) {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag.rfind("--", 0) != 0) Fail("unexpected argument " + flag);
      if (switches.contains(flag)) {
        values_[flag] = "";
      } else if (i + 1 < argc) {
        values_[flag] = argv[++i];
      } else {
        Fail(flag + " needs a value");
      }
    }
  }

  // Reads flag `name` into `out` if given; exits with the usage on a value
  // that does not parse.
  template <class T>
  void Get(const std::string& name, T* out) {
    auto it = values_.find(name);
    if (it == values_.end()) return;
    std::istringstream in(it->second);
    if constexpr (std::is_same_v<T, std::string>) {
      *out = it->second;
    } else if (!(in >> *out) || !in.eof()) {
      Fail("bad value for " + name + ": " + it->second);
    }
    values_.erase(it);
  }

  // True if switch `name` was given.
  bool Has(const std::string& name) { return values_.erase(name) == 1; }

  // Exits with the usage when a flag was given that no Get/Has asked for, or
  // when `ok` is false (a value out of range).
  void Done(bool ok = true) {
    if (!values_.empty()) Fail("unknown flag " + values_.begin()->first);
    if (!ok) Fail("a value is out of range");
  }

 private:
  [[noreturn]] void Fail(const std::string& why) const {
    std::fprintf(stderr, "%s\nusage: %s\n", why.c_str(), usage_.c_str());
    std::exit(2);
  }

  std::string usage_;
  std::map<std::string, std::string> values_;
};

}  // namespace lantern::bench
