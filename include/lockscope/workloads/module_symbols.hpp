// SPDX-License-Identifier: Apache-2.0
// The functions of a module a workload loads for one run and that is gone
// when the run is read (test_workqueue refuses to stay loaded): their
// offsets from the module file's ELF symbol table, their sections' load
// addresses from /sys/module/NAME/sections/ while the module runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lockscope/core/kernel_symbol.hpp"

namespace lockscope {

struct ElfFunction {
  std::string section;  // ".text", ".init.text", ...
  uint64_t offset = 0;  // from the section's start
  uint64_t size = 0;
  std::string name;
};

// The function symbols (STT_FUNC, defined in a section) of a relocatable
// 64-bit little-endian ELF object such as an uncompressed .ko. Empty, with
// `why` set, when `bytes` is no such object or its symbol table is damaged.
std::vector<ElfFunction> elf_functions(std::string_view bytes, std::string* why);

// Section name -> load address, one file per section in `dir`
// (/sys/module/NAME/sections; root only, hidden addresses read as zero and
// are left out). Empty when the directory does not exist.
std::map<std::string, uint64_t> module_sections(const std::string& dir);

// Each function at its section's load address; functions of sections not
// loaded (or not listed) are left out.
std::vector<KernelSymbol> place_functions(const std::vector<ElfFunction>& functions,
                                          const std::map<std::string, uint64_t>& sections);

}  // namespace lockscope
