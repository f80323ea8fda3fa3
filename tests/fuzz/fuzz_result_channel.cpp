// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the VM result channel (lockscope::vm::parse_result_channel),
// i.e. whatever a guest wrote to its second serial port, and the console
// scan for panics (lockscope::vm::find_panic) over the same bytes. Neither
// throws: damage is reported in ResultChannel::problems.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lockscope/vm/vm.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  lockscope::vm::ResultChannel rc = lockscope::vm::parse_result_channel(text);
  if (!rc.exit_code && rc.problems.empty()) std::abort();
  for (const auto& [name, body] : rc.files)
    if (body.size() > text.size()) std::abort();
  if (auto panic = lockscope::vm::find_panic(text))
    if (panic->size() > text.size()) std::abort();
  return 0;
}
