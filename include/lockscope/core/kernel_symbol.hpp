// SPDX-License-Identifier: Apache-2.0
// A kernel function at a known address: what a workload that loads a module
// of its own (test_workqueue) hands the symbolizer, since /proc/kallsyms no
// longer lists the module once it is gone.
#pragma once

#include <cstdint>
#include <string>

namespace lockscope {

struct KernelSymbol {
  uint64_t addr = 0;
  uint64_t size = 0;  // bytes; 0 = unknown (the symbol then covers one byte)
  std::string name;
};

}  // namespace lockscope
