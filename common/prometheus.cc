#include "common/prometheus.h"

#include <cmath>
#include <cstdio>

namespace lantern::common {
namespace {

std::string Escape(std::string_view s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

void PromText::Counter(std::string_view name, std::string_view help,
                       double value, const Labels& labels) {
  Add("counter", name, help, value, labels);
}

void PromText::Gauge(std::string_view name, std::string_view help, double value,
                     const Labels& labels) {
  Add("gauge", name, help, value, labels);
}

void PromText::Add(std::string_view type, std::string_view name,
                   std::string_view help, double value, const Labels& labels) {
  const std::string full = "lantern_" + std::string(name);
  auto it = metrics_.find(full);
  if (it == metrics_.end()) {
    it = metrics_
             .emplace(full, Metric{Escape(help, false), std::string(type), {}})
             .first;
    order_.push_back(full);
  }
  std::string sample = full;
  if (!labels.empty()) {
    sample += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) sample += ',';
      sample += labels[i].first + "=\"" + Escape(labels[i].second, true) + '"';
    }
    sample += '}';
  }
  sample += ' ' + Number(value);
  it->second.samples.push_back(std::move(sample));
}

std::string PromText::str() const {
  std::string out;
  for (const std::string& name : order_) {
    const Metric& m = metrics_.find(name)->second;
    out += "# HELP " + name + ' ' + m.help + '\n';
    out += "# TYPE " + name + ' ' + m.type + '\n';
    for (const std::string& s : m.samples) out += s + '\n';
  }
  return out;
}

}  // namespace lantern::common
