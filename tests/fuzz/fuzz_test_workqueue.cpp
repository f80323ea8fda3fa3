// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: test_workqueue kernel-log rows
// (lockscope::parse_test_workqueue). It never throws: lines that are not rows
// are ignored.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lockscope/workloads/workload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto rows = lockscope::parse_test_workqueue(text);
  for (const auto& r : rows)
    if (r.scope.empty() || !(r.items_per_sec >= 0) || !(r.p50_ns >= 0)) std::abort();
  return 0;
}
