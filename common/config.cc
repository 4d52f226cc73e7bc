#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <set>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/security.h"

namespace lantern::common {
namespace {

// Where a value came from, for error messages.
std::string Where(const YAML::Node& node, bool overridden) {
  if (overridden) return " (from --set)";
  if (node.Mark().is_null()) return "";
  return absl::StrCat(" (line ", node.Mark().line + 1, ")");
}

// Decimal integers only: yaml-cpp would read "010" as octal and "0x10" as
// hex, which nobody means in a config.
bool ParseInt(const YAML::Node& node, int64_t& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, out, 10);
  return ec == std::errc() && ptr == end && begin != end;
}

// Keys that appear more than once in a mapping (yaml-cpp keeps the first
// silently).
std::vector<YAML::Node> RepeatedKeys(const YAML::Node& map) {
  std::vector<YAML::Node> repeated;
  std::set<std::string> seen;
  if (!map.IsMap()) return repeated;
  for (const auto& kv : map) {
    if (!seen.insert(kv.first.Scalar()).second) repeated.push_back(kv.first);
  }
  return repeated;
}

std::string Scalar(const YAML::Node& node) {
  if (node.IsScalar()) return absl::StrCat("'", node.Scalar(), "'");
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

// Reads one section's fields from a YAML mapping, collecting every problem.
class Reader {
 public:
  Reader(const std::string& section, const YAML::Node& node,
         const std::set<std::string>& overridden,
         std::vector<std::string>& errors)
      : section_(section),
        node_(node),
        overridden_(overridden),
        errors_(errors) {}

  template <class T>
  void Num(const char* key, T& field, std::type_identity_t<T> lo,
           std::type_identity_t<T> hi) {
    YAML::Node n;
    if (!Find(key, n)) return;
    T value{};
    bool ok = n.IsScalar();
    if constexpr (std::is_integral_v<T>) {
      ok = ParseInt(n, value);
    } else if (ok) {
      try {
        value = n.as<T>();
      } catch (const YAML::Exception&) {
        ok = false;
      }
    }
    if (!ok) {
      Error(key, n,
            absl::StrCat("expected ",
                         std::is_integral_v<T> ? "an integer" : "a number",
                         ", got ", Scalar(n)));
      return;
    }
    if (!(value >= lo && value <= hi)) {  // also rejects NaN
      Error(key, n,
            absl::StrCat("value ", n.Scalar(), " is out of range [", lo, ", ",
                         hi, "]"));
      return;
    }
    field = value;
  }

  void Str(const char* key, std::string& field) {
    YAML::Node n;
    if (!Find(key, n)) return;
    if (!n.IsScalar()) {
      Error(key, n, absl::StrCat("expected a string, got ", Scalar(n)));
      return;
    }
    field = n.Scalar();
  }

  void Enum(const char* key, std::string& field,
            std::initializer_list<const char*> allowed) {
    YAML::Node n;
    if (!Find(key, n)) return;
    if (n.IsScalar()) {
      for (const char* a : allowed) {
        if (n.Scalar() == a) {
          field = a;
          return;
        }
      }
    }
    Error(key, n,
          absl::StrCat("expected one of ", absl::StrJoin(allowed, ", "),
                       "; got ", Scalar(n)));
  }

  void Bool(const char* key, bool& field) {
    YAML::Node n;
    if (!Find(key, n)) return;
    try {
      if (n.IsScalar()) {
        field = n.as<bool>();
        return;
      }
    } catch (const YAML::Exception&) {
    }
    Error(key, n, absl::StrCat("expected true or false, got ", Scalar(n)));
  }

  void StrList(const char* key, std::vector<std::string>& field) {
    YAML::Node n;
    if (!Find(key, n)) return;
    if (!n.IsSequence()) {
      Error(key, n,
            absl::StrCat("expected a list of strings, got ", Scalar(n)));
      return;
    }
    std::vector<std::string> values;
    for (const YAML::Node& item : n) {
      if (!item.IsScalar()) {
        Error(key, item,
              absl::StrCat("expected a string list item, got ", Scalar(item)));
        return;
      }
      values.push_back(item.Scalar());
    }
    field = std::move(values);
  }

  void IntList(const char* key, std::vector<int64_t>& field, int64_t lo,
               int64_t hi) {
    YAML::Node n;
    if (!Find(key, n)) return;
    if (!n.IsSequence()) {
      Error(key, n,
            absl::StrCat("expected a list of integers, got ", Scalar(n)));
      return;
    }
    std::vector<int64_t> values;
    for (const YAML::Node& item : n) {
      int64_t value = 0;
      if (!ParseInt(item, value)) {
        Error(
            key, item,
            absl::StrCat("expected an integer list item, got ", Scalar(item)));
        return;
      }
      if (value < lo || value > hi) {
        Error(key, item,
              absl::StrCat("list item ", value, " is out of range [", lo, ", ",
                           hi, "]"));
        return;
      }
      values.push_back(value);
    }
    field = std::move(values);
  }

  // Reports keys present in the YAML that no field claimed.
  void ReportUnknown() {
    if (!node_ || !node_.IsMap()) return;
    for (const YAML::Node& k : RepeatedKeys(node_)) {
      errors_.push_back(absl::StrCat(section_, ".", k.Scalar(),
                                     ": key given twice", Where(k, false)));
    }
    for (const auto& kv : node_) {
      const std::string key = kv.first.Scalar();
      if (!seen_.contains(key)) {
        errors_.push_back(absl::StrCat(section_, ".", key, ": unknown key",
                                       Where(kv.first, Overridden(key))));
      }
    }
  }

 private:
  bool Find(const char* key, YAML::Node& out) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap()) return false;
    out = node_[key];
    return out.IsDefined() && !out.IsNull();
  }

  bool Overridden(const std::string& key) const {
    return overridden_.contains(absl::StrCat(section_, ".", key));
  }

  void Error(const char* key, const YAML::Node& n, const std::string& what) {
    errors_.push_back(absl::StrCat(section_, ".", key, ": ", what,
                                   Where(n, Overridden(key))));
  }

  std::string section_;
  YAML::Node node_;
  const std::set<std::string>& overridden_;
  std::vector<std::string>& errors_;
  std::set<std::string> seen_;
};

// Walks the sections of the root mapping.
class RootReader {
 public:
  RootReader(const YAML::Node& root, const std::set<std::string>& overridden,
             std::vector<std::string>& errors)
      : root_(root), overridden_(overridden), errors_(errors) {}

  template <class S>
  void Section(const char* name, S& section) {
    seen_.insert(name);
    YAML::Node node = root_[name];
    if (node.IsDefined() && !node.IsNull() && !node.IsMap()) {
      errors_.push_back(absl::StrCat(name, ": expected a mapping, got ",
                                     Scalar(node), Where(node, false)));
      return;
    }
    Reader reader(name, node, overridden_, errors_);
    section.Visit(reader);
    reader.ReportUnknown();
  }

  void ReportUnknown() {
    for (const YAML::Node& k : RepeatedKeys(root_)) {
      errors_.push_back(
          absl::StrCat(k.Scalar(), ": section given twice", Where(k, false)));
    }
    for (const auto& kv : root_) {
      const std::string name = kv.first.Scalar();
      if (seen_.contains(name)) continue;
      // A section that only --set mentions has no line to point at.
      const auto it = overridden_.lower_bound(name + ".");
      const bool from_set =
          it != overridden_.end() && it->rfind(name + ".", 0) == 0;
      errors_.push_back(
          absl::StrCat(name, ": unknown section", Where(kv.first, from_set)));
    }
  }

 private:
  YAML::Node root_;
  const std::set<std::string>& overridden_;
  std::vector<std::string>& errors_;
  std::set<std::string> seen_;
};

// Emits every field of every section.
class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}

  template <class S>
  void Section(const char* name, S& section) {
    out_ << YAML::Key << name << YAML::Value << YAML::BeginMap;
    section.Visit(*this);
    out_ << YAML::EndMap;
  }
  template <class T>
  void Num(const char* key, T& field, std::type_identity_t<T>,
           std::type_identity_t<T>) {
    out_ << YAML::Key << key << YAML::Value << field;
  }
  void Str(const char* key, std::string& field) {
    out_ << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << field;
  }
  void Enum(const char* key, std::string& field,
            std::initializer_list<const char*>) {
    out_ << YAML::Key << key << YAML::Value << field;
  }
  void Bool(const char* key, bool& field) {
    out_ << YAML::Key << key << YAML::Value << field;
  }
  void IntList(const char* key, std::vector<int64_t>& field, int64_t, int64_t) {
    out_ << YAML::Key << key << YAML::Value << YAML::Flow << field;
  }
  void StrList(const char* key, std::vector<std::string>& field) {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (const std::string& item : field) out_ << YAML::DoubleQuoted << item;
    out_ << YAML::EndSeq;
  }

 private:
  YAML::Emitter& out_;
};

// Checks that involve more than one field.
void CrossCheck(const Config& c, std::vector<std::string>& errors) {
  if (c.run.name.empty() ||
      c.run.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos ||
      c.run.name[0] == '.') {
    errors.push_back(
        absl::StrCat("run.name: '", c.run.name,
                     "' must be non-empty letters, digits, '.', '_' or '-'"));
  }
  if (c.run.dir.empty()) errors.push_back("run.dir: must not be empty");
  if (c.env.crop % 2 == 0) {
    errors.push_back(
        absl::StrCat("env.crop: must be odd (the agent sits at the centre), "
                     "got ",
                     c.env.crop));
  }
  if (c.learner.batch_size % c.actor.num_envs != 0) {
    errors.push_back(absl::StrCat("learner.batch_size: ", c.learner.batch_size,
                                  " must be a multiple of actor.num_envs (",
                                  c.actor.num_envs,
                                  "): a batch is made of whole trajectories"));
  }
  if (c.learner.queue_capacity * c.actor.num_envs < c.learner.batch_size) {
    errors.push_back(absl::StrCat(
        "learner.queue_capacity: ", c.learner.queue_capacity,
        " trajectories cannot hold one batch (learner.batch_size / "
        "actor.num_envs = ",
        c.learner.batch_size / c.actor.num_envs, ")"));
  }
  if (c.learner.actor_timeout_s < 2 * c.actor.heartbeat_interval_s) {
    errors.push_back(
        absl::StrCat("learner.actor_timeout_s: ", c.learner.actor_timeout_s,
                     " must be at least twice actor.heartbeat_interval_s (",
                     c.actor.heartbeat_interval_s,
                     "), or live actors are dropped between heartbeats"));
  }
  CheckSecurity(c.security, errors);
  if (c.learner.listen.empty()) {
    errors.push_back("learner.listen: must not be empty (use host:port)");
  }
  CheckDeploy(c.deploy, c.actor.count, errors);
}

}  // namespace

std::string Config::RunDir() const { return run.dir + "/" + run.name; }

int Config::MaxGrpcMessageBytes() const {
  return int(std::min<int64_t>((learner.max_message_mb << 20) * 2 + (1 << 20),
                               INT32_MAX));
}

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text,
                                   const std::string& source,
                                   const std::vector<std::string>& overrides) {
  std::vector<std::string> errors;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not valid YAML (line ", e.mark.line + 1, "): ", e.msg));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": the top level must be a mapping of sections"));
  }

  std::set<std::string> overridden;
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    const size_t dot = o.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq ||
        dot == 0 || dot + 1 == eq) {
      errors.push_back(
          absl::StrCat("--set ", o, ": expected section.key=value"));
      continue;
    }
    const std::string section = o.substr(0, dot);
    const std::string key = o.substr(dot + 1, eq - dot - 1);
    YAML::Node value;
    try {
      value = YAML::Load(o.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      errors.push_back(absl::StrCat("--set ", o, ": bad value: ", e.msg));
      continue;
    }
    if (value.IsNull()) {
      errors.push_back(absl::StrCat("--set ", o, ": empty value"));
      continue;
    }
    YAML::Node target = root[section];
    if (target.IsDefined() && !target.IsNull() && !target.IsMap()) {
      // Leave the file's bad section for the reader to report.
      errors.push_back(absl::StrCat("--set ", o, ": section '", section,
                                    "' in the file is not a mapping"));
      continue;
    }
    if (!target.IsMap()) root[section] = YAML::Node(YAML::NodeType::Map);
    root[section][key] = value;
    overridden.insert(section + "." + key);
  }

  Config config;
  RootReader reader(root, overridden, errors);
  config.Visit(reader);
  reader.ReportUnknown();
  if (errors.empty()) CrossCheck(config, errors);
  if (!errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", errors.size(), " error(s):\n  ",
                     absl::StrJoin(errors, "\n  ")));
  }
  return config;
}

absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok())
    return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  return ParseConfig(*text, path, overrides);
}

std::string ConfigToYaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  Writer writer(out);
  Config copy = config;
  copy.Visit(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace lantern::common
