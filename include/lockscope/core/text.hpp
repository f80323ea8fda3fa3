// SPDX-License-Identifier: Apache-2.0
// Laying out text for terminals and markup: display widths of UTF-8, padding,
// cutting, XML/HTML escaping. Shared by the report (src/output) and diff;
// prefix and suffix tests and trimming for everyone (C++17 has no
// string::ends_with).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lockscope {

inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
// `s` without leading and trailing white space (isspace: blanks, tabs, newlines).
std::string trim(std::string_view s);

// Columns a UTF-8 string takes on a terminal (one per code point).
size_t display_width(const std::string& s);
std::string pad_left(const std::string& s, size_t w);
std::string pad_right(const std::string& s, size_t w);
// Cuts to `w` columns, ending in "…" when cut.
std::string truncate(const std::string& s, size_t w);
// Cuts to `w` columns in the middle, keeping both ends: "kick_pool…queue_work".
std::string truncate_middle(const std::string& s, size_t w);
// Cuts every value to at most `w` columns in the middle (truncate_middle), but
// no two different values to the same text: where two would look the same,
// both keep more columns, up to their full length.
std::vector<std::string> truncate_distinct(const std::vector<std::string>& values, size_t w);
// &, <, >, " and ' as entities.
std::string xml_escape(const std::string& s);

}  // namespace lockscope
