// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/error.hpp"

#include <cstdio>

namespace lockscope {

int report_errors(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    if (!e.hint().empty()) std::fprintf(stderr, "hint: %s\n", e.hint().c_str());
    return e.code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", program, e.what());
    return kExitUsage;
  }
}

}  // namespace lockscope
