// SPDX-License-Identifier: Apache-2.0
// Kernel symbol names for addresses (/proc/kallsyms): acquirers, work
// functions and stack frames.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lockscope {

class Symbolizer {
 public:
  // Text symbols (t, T, w, W) of a kallsyms file; hidden (zero) addresses
  // and malformed lines are skipped.
  static Symbolizer from_kallsyms(const std::string& path = "/proc/kallsyms");
  static Symbolizer from_entries(std::vector<std::pair<uint64_t, std::string>> entries);
  // Name of the function containing `addr`, or "0x..." when unknown.
  std::string name(uint64_t addr) const;
  bool empty() const { return syms_.empty(); }

 private:
  std::vector<std::pair<uint64_t, std::string>> syms_;  // sorted by address
};

}  // namespace lockscope
