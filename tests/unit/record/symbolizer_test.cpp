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
  // No /proc/modules and no _etext: each symbol reaches the next one.
  Symbolizer s = Symbolizer::from_kallsyms(f.path, "/nonexistent/modules");
  EXPECT_EQ(s.name(0xffffffff81000000), "_stext");
  EXPECT_EQ(s.name(0xffffffff81000150), "kick_pool");
  // some_data is not a function: the address still belongs to kick_pool.
  EXPECT_EQ(s.name(0xffffffff81000250), "kick_pool");
  EXPECT_EQ(s.name(0xffffffff81000300), "weak_fn");
  EXPECT_EQ(s.name(0xffffffff81000600), "weak_fn");
  EXPECT_EQ(s.name(0xffffffffc0000010), "mod_fn");
  EXPECT_EQ(s.name(0x1000), "0x1000");  // below every symbol
}

// kallsyms gives no sizes: a symbol reaches no further than what holds it.
// Before, an address past the last symbol of a region was named after the
// nearest lower symbol, whatever lay between.
TEST(Symbolizer, SymbolsEndWithTheirRegion) {
  TempFile k(
      "ffffffff81000000 T _stext\n"
      "ffffffff81000100 T kick_pool\n"
      "ffffffff81200000 T _etext\n"
      "ffffffff83000000 T _sinittext\n"
      "ffffffff83000100 t init_fn\n"
      "ffffffff83100000 T _einittext\n"
      "ffffffffc0000000 t ftrace_trampoline\t[__builtin__ftrace]\n"
      "ffffffffc0010000 t bpf_prog_1234_on_lock\t[bpf]\n"
      "ffffffffc0100000 t mod_fn\t[test_workqueue]\n"
      "ffffffffc0200000 t gone_fn\t[unloaded]\n");
  TempFile m(
      "test_workqueue 8192 0 - Live 0xffffffffc0100000\n"
      "hidden 4096 0 - Live 0x0000000000000000\n"
      "malformed line\n");
  Symbolizer s = Symbolizer::from_kallsyms(k.path, m.path);
  // The kernel's text ends at _etext, its init text at _einittext.
  EXPECT_EQ(s.name(0xffffffff811fffff), "kick_pool");
  EXPECT_EQ(s.name(0xffffffff81200000), "_etext");  // a page for a marker
  EXPECT_EQ(s.name(0xffffffff81201000), "0xffffffff81201000");
  EXPECT_EQ(s.name(0xffffffff830fffff), "init_fn");
  EXPECT_EQ(s.name(0xffffffff83101000), "0xffffffff83101000");
  // A trampoline covers a page, not the 64 KiB up to the next symbol.
  EXPECT_EQ(s.name(0xffffffffc0000fff), "ftrace_trampoline");
  EXPECT_EQ(s.name(0xffffffffc0001000), "0xffffffffc0001000");
  // A BPF program covers 64 KiB at most.
  EXPECT_EQ(s.name(0xffffffffc001ffff), "bpf_prog_1234_on_lock");
  EXPECT_EQ(s.name(0xffffffffc0020000), "0xffffffffc0020000");
  // A module's symbol reaches the end of its range in /proc/modules.
  EXPECT_EQ(s.name(0xffffffffc0101fff), "mod_fn");
  EXPECT_EQ(s.name(0xffffffffc0102000), "0xffffffffc0102000");
  // A module not listed (unloaded since kallsyms was read): one page.
  EXPECT_EQ(s.name(0xffffffffc0200fff), "gone_fn");
  EXPECT_EQ(s.name(0xffffffffc0201000), "0xffffffffc0201000");
}

TEST(Symbolizer, UnreadableModulesLeaveModuleSymbolsUnbounded) {
  TempFile k(
      "ffffffff81000000 T _stext\n"
      "ffffffff81200000 T _etext\n"
      "ffffffffc0000000 t ftrace_trampoline\t[__builtin__ftrace]\n"
      "ffffffffc0100000 t mod_fn\t[test_workqueue]\n");
  Symbolizer s = Symbolizer::from_kallsyms(k.path, "/nonexistent/modules");
  EXPECT_EQ(s.name(0xffffffffc0180000), "mod_fn");              // no range known to end it
  EXPECT_EQ(s.name(0xffffffffc0080000), "0xffffffffc0080000");  // trampolines: a page
}

// A module the workload loaded and unloaded (test_workqueue) is gone from
// kallsyms when the run is read: its functions are added with their sizes.
TEST(Symbolizer, AddedFunctionsNameTheirBytesOnly) {
  TempFile k(
      "ffffffff81000000 T _stext\n"
      "ffffffff81200000 T _etext\n"
      "ffffffffc0600000 t ftrace_trampoline\t[__builtin__ftrace]\n"
      "ffffffffc0601000 t stale_fn\t[test_workqueue]\n");  // an earlier load
  Symbolizer s = Symbolizer::from_kallsyms(k.path, "/nonexistent/modules");
  s.add({{0xffffffffc0601000, 0x40, "bench_work_fn"}, {0xffffffffc0601080, 0, "no_size"}});
  EXPECT_EQ(s.name(0xffffffffc0601000), "bench_work_fn");  // replaces stale_fn
  EXPECT_EQ(s.name(0xffffffffc060103f), "bench_work_fn");
  EXPECT_EQ(s.name(0xffffffffc0601040), "0xffffffffc0601040");  // past its size
  EXPECT_EQ(s.name(0xffffffffc0601080), "no_size");             // no size: its first byte
  EXPECT_EQ(s.name(0xffffffffc0601081), "0xffffffffc0601081");
  EXPECT_EQ(s.name(0xffffffffc0600fff), "ftrace_trampoline");  // untouched
  s.add({});
  EXPECT_EQ(s.name(0xffffffffc0601000), "bench_work_fn");
}

TEST(Symbolizer, MissingFileIsEmpty) {
  Symbolizer s = Symbolizer::from_kallsyms("/nonexistent/kallsyms");
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.name(0xffffffff81000000), "0xffffffff81000000");
}

}  // namespace
