// SPDX-License-Identifier: Apache-2.0
// Symbolizer: /proc/kallsyms parsing and address -> function lookup.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "lockscope/record/symbolizer.hpp"

namespace {

using lockscope::Symbolizer;

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/lockscope-kallsyms-XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path = tmpl;
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

TEST(Symbolizer, ParsesKallsymsTextSymbolsOnly) {
  TempFile f(
      "ffffffff81000000 T _stext\n"
      "ffffffff81000100 t kick_pool\n"
      "ffffffff81000200 D some_data\n"  // data: not a function
      "ffffffff81000300 W weak_fn\n"
      "0000000000000000 T hidden_by_kptr_restrict\n"   // skipped
      "ffffffffc0000000 t mod_fn\t[test_workqueue]\n"  // module column dropped
      "garbage line\n"
      "ffffffff81000400\n"  // truncated
      "ffffffff81000500 T\n"
      "\n");
  Symbolizer s = Symbolizer::from_kallsyms(f.path);
  EXPECT_EQ(s.name(0xffffffff81000000), "_stext");
  EXPECT_EQ(s.name(0xffffffff81000150), "kick_pool");
  // some_data is not a function: the address still belongs to kick_pool.
  EXPECT_EQ(s.name(0xffffffff81000250), "kick_pool");
  EXPECT_EQ(s.name(0xffffffff81000300), "weak_fn");
  EXPECT_EQ(s.name(0xffffffff81000600), "weak_fn");
  EXPECT_EQ(s.name(0xffffffffc0000010), "mod_fn");
  EXPECT_EQ(s.name(0x1000), "0x1000");  // below every symbol
}

TEST(Symbolizer, MissingFileIsEmpty) {
  Symbolizer s = Symbolizer::from_kallsyms("/nonexistent/kallsyms");
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.name(0xffffffff81000000), "0xffffffff81000000");
}

}  // namespace
