// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/text.hpp"

#include <cctype>
#include <map>

namespace lockscope {

std::string trim(std::string_view s) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  return std::string(s);
}

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

namespace {
// The code points of a UTF-8 string, each as its bytes.
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> cps;
  for (char ch : s) {
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80 || cps.empty()) cps.emplace_back();
    cps.back() += ch;
  }
  return cps;
}
}  // namespace

std::string truncate_middle(const std::string& s, size_t w) {
  std::vector<std::string> cps = code_points(s);
  if (cps.size() <= w) return s;
  if (w == 0) return {};
  size_t keep = w - 1, tail = keep / 2, head = keep - tail;
  std::string out;
  for (size_t i = 0; i < head; ++i) out += cps[i];
  out += "…";
  for (size_t i = cps.size() - tail; i < cps.size(); ++i) out += cps[i];
  return out;
}

std::vector<std::string> truncate_distinct(const std::vector<std::string>& values, size_t w) {
  std::vector<size_t> width(values.size(), w);
  std::vector<std::string> out(values.size());
  for (bool changed = true; changed;) {
    changed = false;
    std::map<std::string, std::vector<size_t>> by_text;
    for (size_t i = 0; i < values.size(); ++i) {
      out[i] = truncate_middle(values[i], width[i]);
      by_text[out[i]].push_back(i);
    }
    for (const auto& [text, idx] : by_text) {
      bool clash = false;
      for (size_t i : idx) clash |= values[i] != values[idx.front()];
      if (!clash) continue;
      for (size_t i : idx)
        if (display_width(values[i]) > width[i]) ++width[i], changed = true;
    }
  }
  return out;
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
