// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a module file's function symbols
// (lockscope::elf_functions). It never throws and never reads outside the
// input: a damaged object gives no functions and a reason, a whole one its
// functions and none.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lockscope/workloads/module_symbols.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  auto fns =
      lockscope::elf_functions(std::string_view(reinterpret_cast<const char*>(data), size), &why);
  if (!fns.empty() && !why.empty()) std::abort();  // functions, or a reason
  for (const auto& f : fns)
    if (f.name.empty()) std::abort();
  return 0;
}
