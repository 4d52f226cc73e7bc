#include "cli/yaml_text.h"

#include <yaml-cpp/yaml.h>

namespace lantern::cli {
namespace {

// A literal block reads back exactly only for text that ends in one newline
// and does not start with a space; anything else is double-quoted.
bool FitsLiteral(const std::string& s) {
  return s.size() > 1 && s.find('\n') != s.size() - 1 && s.back() == '\n' &&
         s[s.size() - 2] != '\n' && s[0] != ' ' && s[0] != '\t' &&
         s.find('\r') == std::string::npos &&
         s.find(" \n") == std::string::npos;
}

void Emit(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const Json& item : value) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      out << (FitsLiteral(s) ? YAML::Literal : YAML::DoubleQuoted) << s;
      break;
    }
    case Json::value_t::boolean:
      out << value.get<bool>();
      break;
    case Json::value_t::number_integer:
      out << value.get<int64_t>();
      break;
    case Json::value_t::number_unsigned:
      out << value.get<uint64_t>();
      break;
    case Json::value_t::number_float:
      out << value.get<double>();
      break;
    default:
      out << YAML::Null;
  }
}

}  // namespace

std::string ToYaml(const Json& doc) {
  YAML::Emitter out;
  out.SetIndent(2);
  Emit(out, doc);
  return std::string(out.c_str()) + "\n";
}

std::string ToYamlDocuments(const std::vector<Json>& docs) {
  std::string text;
  for (const Json& doc : docs) {
    if (!text.empty()) text += "---\n";
    text += ToYaml(doc);
  }
  return text;
}

}  // namespace lantern::cli
