// SPDX-License-Identifier: Apache-2.0
#include "lockscope/record/symbolizer.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace lockscope {

Symbolizer Symbolizer::from_kallsyms(const std::string& path) {
  std::vector<std::pair<uint64_t, std::string>> e;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    // "ffffffff81000000 T _stext" or "… t name\t[module]"
    const char* p = line.c_str();
    char* end = nullptr;
    uint64_t addr = std::strtoull(p, &end, 16);
    if (end == p || addr == 0) continue;  // malformed, or hidden (kptr_restrict)
    if (end[0] != ' ' || end[1] == '\0' || end[2] != ' ') continue;
    char type = end[1];
    if (type != 't' && type != 'T' && type != 'W' && type != 'w') continue;
    const char* name = end + 3;
    size_t len = std::strcspn(name, " \t");
    if (len == 0) continue;
    e.emplace_back(addr, std::string(name, len));
  }
  return from_entries(std::move(e));
}

Symbolizer Symbolizer::from_entries(std::vector<std::pair<uint64_t, std::string>> entries) {
  Symbolizer s;
  s.syms_ = std::move(entries);
  std::sort(s.syms_.begin(), s.syms_.end());
  return s;
}

std::string Symbolizer::name(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), std::make_pair(addr, std::string("\xff")));
  if (it == syms_.begin()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, addr);
    return buf;
  }
  return std::prev(it)->second;
}

}  // namespace lockscope
