// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: profile JSON (lockscope::profile_from_json). Contract:
// any input either parses or throws lockscope::Error with exit code 2; any
// other exception, crash, leak or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lockscope/core/error.hpp"
#include "lockscope/core/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  lockscope::Profile p;
  try {
    p = lockscope::profile_from_json(text, "fuzz");
  } catch (const lockscope::Error& e) {
    if (e.code() != lockscope::kExitUsage) std::abort();
    return 0;
  }
  // What was accepted must serialize and load again, unchanged: a profile
  // lockscope accepts and then rewrites (report -f json) must stay readable.
  // An exception here escapes and is reported as a crash.
  std::string again = lockscope::profile_to_json(p, false);
  lockscope::Profile q = lockscope::profile_from_json(again, "fuzz-roundtrip");
  if (lockscope::profile_to_json(q, false) != again) std::abort();
  return 0;
}
