#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lantern::cli {

// Manifests are built as JSON values (typed: a string stays a string) and
// written as block YAML: every string double-quoted (so "true", "1.0" or
// "on" stay strings), multi-line text as a literal block, numbers and
// booleans plain, keys in insertion order.
using Json = nlohmann::ordered_json;

// One YAML document, ending in a newline.
std::string ToYaml(const Json& doc);

// Several documents separated by "---".
std::string ToYamlDocuments(const std::vector<Json>& docs);

}  // namespace lantern::cli
