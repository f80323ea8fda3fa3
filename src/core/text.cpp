// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/text.hpp"

namespace lockscope {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string pad_left(const std::string& s, size_t w) {
  size_t d = display_width(s);
  return d >= w ? s : std::string(w - d, ' ') + s;
}

std::string pad_right(const std::string& s, size_t w) {
  size_t d = display_width(s);
  return d >= w ? s : s + std::string(w - d, ' ');
}

std::string truncate(const std::string& s, size_t w) {
  if (display_width(s) <= w) return s;
  if (w == 0) return {};
  std::string out;
  size_t cols = 0;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) {
      if (cols + 1 >= w) break;
      ++cols;
    }
    out += ch;
  }
  return out + "…";
}

std::string xml_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

}  // namespace lockscope
