// SPDX-License-Identifier: Apache-2.0
// Golden files of what users see (tests/unit/data/...). One rule for every
// test: LOCKSCOPE_UPDATE_GOLDEN=1 rewrites the file and skips the check
// (review the diff before committing).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace lockscope::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `path` relative to tests/unit/data.
inline void expect_golden(const std::string& actual, const std::string& path) {
  std::string full = std::string(LOCKSCOPE_TEST_DATA) + "/" + path;
  if (const char* u = std::getenv("LOCKSCOPE_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(full, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << full;
  }
  std::string golden = read_file(full);
  ASSERT_FALSE(golden.empty()) << "missing golden file " << full;
  EXPECT_EQ(actual, golden) << "output differs from " << full
                            << " (LOCKSCOPE_UPDATE_GOLDEN=1 rewrites it)\n---- actual ----\n"
                            << actual;
}

}  // namespace lockscope::testing
