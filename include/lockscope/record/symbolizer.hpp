// SPDX-License-Identifier: Apache-2.0
// Kernel symbol names for addresses (/proc/kallsyms): acquirers, work
// functions and stack frames.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lockscope/core/kernel_symbol.hpp"

namespace lockscope {

class Symbolizer {
 public:
  // Text symbols (t, T, w, W) of a kallsyms file; hidden (zero) addresses
  // and malformed lines are skipped. kallsyms gives no sizes, so each
  // symbol covers the addresses up to the next one, and no further than
  // the end of what holds it: the kernel's text (_etext, _einittext), its
  // module's range in `modules` (/proc/modules), a page for a trampoline
  // (ftrace, kprobes, other unlisted code), 64 KiB for a BPF program. An
  // address past that (the code of a module loaded or unloaded since the
  // file was read) is not named after whatever symbol precedes it.
  static Symbolizer from_kallsyms(const std::string& path = "/proc/kallsyms",
                                  const std::string& modules = "/proc/modules");
  // Symbols from a list; each covers the addresses up to the next one, the
  // last every address above it.
  static Symbolizer from_entries(std::vector<std::pair<uint64_t, std::string>> entries);
  // Adds functions whose sizes are known (a module loaded and unloaded by
  // the workload, which kallsyms no longer lists); a symbol already known
  // that starts inside one of them is replaced.
  void add(const std::vector<KernelSymbol>& symbols);
  // Name of the function containing `addr`, or "0x..." when unknown.
  std::string name(uint64_t addr) const;
  bool empty() const { return syms_.empty(); }

 private:
  struct Sym {
    uint64_t addr;
    uint64_t end;  // first address past the symbol (at most the next one's)
    std::string name;
  };
  static Symbolizer sorted(std::vector<Sym> syms);
  std::vector<Sym> syms_;  // sorted by address
};

}  // namespace lockscope
