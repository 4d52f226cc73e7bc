#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace lantern::common {

// Hash for std::string keys that also takes std::string_view, so that
// unordered containers declared with it and std::equal_to<> look up a view
// without copying it into a string (heterogeneous lookup).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>()(s);
  }
};

}  // namespace lantern::common
