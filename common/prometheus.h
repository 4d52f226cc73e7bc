#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lantern::common {

// Builds a page in the Prometheus text exposition format (0.0.4): each
// metric once with its HELP and TYPE lines, then its samples. Metric names
// are prefixed "lantern_"; label values are escaped.
class PromText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // A value that only rises (totals since the process started); `name`
  // should end in "_total".
  void Counter(std::string_view name, std::string_view help, double value,
               const Labels& labels = {});
  // A value that goes up and down.
  void Gauge(std::string_view name, std::string_view help, double value,
             const Labels& labels = {});

  std::string str() const;

 private:
  void Add(std::string_view type, std::string_view name, std::string_view help,
           double value, const Labels& labels);

  struct Metric {
    std::string help, type;
    std::vector<std::string> samples;
  };
  std::vector<std::string> order_;
  std::map<std::string, Metric, std::less<>> metrics_;
};

}  // namespace lantern::common
