// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: gate expressions (lockscope::diff::parse_gate). Any input
// either parses or throws lockscope::Error with exit code 2.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lockscope/core/error.hpp"
#include "lockscope/diff/diff.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    lockscope::diff::GateExpr g = lockscope::diff::parse_gate(text);
    if (g.key.empty() || !std::isfinite(g.threshold)) std::abort();
  } catch (const lockscope::Error& e) {
    if (e.code() != lockscope::kExitUsage) std::abort();
  }
  return 0;
}
