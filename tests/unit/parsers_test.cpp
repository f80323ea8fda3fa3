// SPDX-License-Identifier: Apache-2.0
// Hostile, huge and malformed inputs to every parser: each either parses or
// throws lockscope::Error with exit code 2 (usage/input error) -- never
// another exception, a crash, a hang or unbounded memory. Inputs that the
// fuzzers (tests/fuzz) found are kept here as regression tests.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "lockscope/core/error.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/diff/diff.hpp"
#include "lockscope/vm/vm.hpp"
#include "lockscope/workloads/workload.hpp"

namespace {

using lockscope::Error;

// Runs f; returns the exit code of the lockscope::Error it threw, 0 if none.
// Any other exception propagates and fails the test.
template <typename F>
int code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return 0;
}

std::string profile_head() { return R"({"schema":"lockscope.profile","version":1,)"; }

std::string one_hist_profile(const std::string& buckets, uint64_t count) {
  return profile_head() + R"("runs":[{"metrics":{"pool_lock_wait_ns":{"status":"ok","histogram":)" +
         R"({"count":)" + std::to_string(count) + R"(,"sum":10,"min":1,"max":9,"buckets":)" +
         buckets + "}}}}]}";
}

// Peak resident set of this process, in MiB (ru_maxrss is in KiB on Linux).
long peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

// ---------------------------------------------------------------- gate

TEST(GateParser, HugeNumberIsAUsageErrorNotACrash) {
  // Found by fuzz_gate: std::stod threw std::out_of_range.
  std::string digits(400, '2');
  EXPECT_EQ(code_of([&] { lockscope::diff::parse_gate("tput <= " + digits); }), 2);
  EXPECT_EQ(code_of([&] { lockscope::diff::parse_gate("wa.share <0000002222" + digits); }), 2);
  EXPECT_EQ(code_of([&] { lockscope::diff::parse_gate("tput >= +" + digits + "%"); }), 2);
}

TEST(GateParser, TinyNumberIsAUsageErrorNotACrash) {
  // Underflow: strtod reports ERANGE, std::stod threw.
  std::string tiny = "0." + std::string(400, '0') + "1";
  EXPECT_EQ(code_of([&] { lockscope::diff::parse_gate("p95 <= " + tiny); }), 2);
}

TEST(GateParser, CorpusCrashInputIsAUsageError) {
  std::ifstream in(LOCKSCOPE_TEST_DATA "/../../fuzz/corpus/gate/crash-stod-out-of-range.txt",
                   std::ios::binary);
  ASSERT_TRUE(in) << "missing corpus file";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(code_of([&] { lockscope::diff::parse_gate(text); }), 2);
}

TEST(GateParser, OrdinaryNumbersStillParse) {
  auto g = lockscope::diff::parse_gate("tput[cache] >= +5%");
  EXPECT_EQ(g.key, "tput");
  EXPECT_EQ(g.scope, "cache");
  EXPECT_TRUE(g.relative);
  EXPECT_DOUBLE_EQ(g.threshold, 5.0);
  EXPECT_DOUBLE_EQ(lockscope::diff::parse_gate("p95 < 1234567890123").threshold, 1234567890123.0);
  EXPECT_DOUBLE_EQ(lockscope::diff::parse_gate("wakeups_under_pool_lock.share <= 0.01").threshold,
                   0.01);
}

TEST(GateParser, GarbageIsAUsageError) {
  for (const std::string& s :
       {std::string(""), std::string("\0\0\0", 3), std::string(100000, '['),
        std::string("tput <= "), std::string("tput[") + std::string(50000, 'a'),
        std::string("\xff\xfe tput <= 1"), std::string("tput <= 1%%")})
    EXPECT_EQ(code_of([&] { lockscope::diff::parse_gate(s); }), 2) << s.substr(0, 40);
}

// ---------------------------------------------------------------- profile

TEST(ProfileParser, MalformedInputsAreUsageErrors) {
  const std::string h = profile_head();
  for (const std::string& s : {
           std::string(""),
           std::string("null"),
           std::string("[]"),
           std::string("\"x\""),
           std::string(R"({"schema":"lockscope.profile"})"),
           h + R"("runs":{}})",
           h + R"("runs":[1]})",
           h + R"("runs":[{"metrics":[]}]})",
           h + R"("runs":[{"metrics":{"m":{"status":"ok","histogram":[]}}}]})",
           h + R"("runs":[{"metrics":{"m":{"status":"ok","by_site":[{"site":1}]}}}]})",
           h + R"("runs":[{"counters":{"x":-1}}]})",
           h + R"("runs":[{"drops":{"x":1.5}}]})",
           h + R"("runs":[{"duration_s":"1"}]})",
           h + R"("hooks":{"refused":[1]},"runs":[]})",
           h + R"("runs":[{"workload":{"name":"pty","items_per_sec":"fast"}}]})",
           one_hist_profile("[[0,1],[1]]", 2),
           one_hist_profile("[[99999999,1]]", 1),
           one_hist_profile("[[0,18446744073709551615],[1,1]]", 0),
           one_hist_profile("[[0,1]]", 5),
           // Found by fuzz_profile: a number that overflows a double made
           // the JSON library throw out_of_range, which was not caught.
           std::string("111111111111111e1111111111111lockscope_s["),
           h + R"("runs":[{"duration_s":1e99999}]})",
       })
    EXPECT_EQ(code_of([&] { lockscope::profile_from_json(s, "t"); }), 2) << s;
}

TEST(ProfileParser, TruncatedAtEveryByteIsAUsageError) {
  std::ifstream in(LOCKSCOPE_TEST_DATA "/diff/single_base.json", std::ios::binary);
  ASSERT_TRUE(in);
  std::string full((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NO_THROW(lockscope::profile_from_json(full, "full"));
  size_t end = full.find_last_not_of(" \n");
  for (size_t n = 0; n < end; ++n)
    ASSERT_EQ(code_of([&] { lockscope::profile_from_json(full.substr(0, n), "t"); }), 2) << n;
}

TEST(ProfileParser, DuplicateBucketIndexIsRejected) {
  // Found by fuzz_profile's round trip: [[3,1],[3,1]] with count 2 was
  // accepted, but the histogram kept one of the two entries, so the profile
  // written back (report -f json) no longer loaded.
  EXPECT_EQ(
      code_of([&] { lockscope::profile_from_json(one_hist_profile("[[3,1],[3,1]]", 2), "t"); }), 2);
  EXPECT_EQ(
      code_of([&] { lockscope::profile_from_json(one_hist_profile("[[3,1],[4,1]]", 2), "t"); }), 0);
}

TEST(ProfileParser, DeepNestingIsRejectedQuickly) {
  for (size_t depth : {1000u, 100000u, 1000000u}) {
    std::string s(depth, '[');
    s += std::string(depth, ']');
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(code_of([&] { lockscope::profile_from_json(s, "t"); }), 2) << depth;
    std::string obj;
    for (size_t i = 0; i < depth; ++i) obj += R"({"a":)";
    obj += "1" + std::string(depth, '}');
    EXPECT_EQ(code_of([&] { lockscope::profile_from_json(obj, "t"); }), 2) << depth;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20)) << depth;
  }
}

TEST(ProfileParser, TenMillionBucketsDoNotExhaustMemory) {
  // 10^7 [index,count] pairs (~100 MB of text). A DOM of it would take
  // gigabytes; the parser must refuse it early or stream it.
  const size_t n = 10'000'000;
  std::string b = "[";
  b.reserve(n * 8 + 2);
  for (size_t i = 0; i < n; ++i) b += i ? ",[0,1]" : "[0,1]";
  b += "]";
  std::string text = one_hist_profile(b, n);
  b.clear();
  b.shrink_to_fit();
  long before = peak_rss_mib();
  int code = code_of([&] { lockscope::profile_from_json(text, "huge"); });
  long grew = peak_rss_mib() - before;
  EXPECT_EQ(code, 2);
  // The text itself is ~60 MiB; parsing may cost a small multiple, not GiB.
  EXPECT_LT(grew, 512) << "peak RSS grew by " << grew << " MiB";
  std::printf("10^7 buckets: exit %d, peak RSS growth %ld MiB\n", code, grew);
}

TEST(ProfileParser, OversizedFileIsRefusedBeforeParsing) {
  // load_profile refuses files beyond the documented limit without reading them.
  std::string path = "/tmp/lockscope-parsers-" + std::to_string(getpid()) + ".json";
  {
    std::ofstream out(path, std::ios::binary);
    out << profile_head() << R"("runs":[],"pad":")";
    out.seekp(300L * 1024 * 1024);  // sparse: no disk used
    out << "\"}";
  }
  long before = peak_rss_mib();
  EXPECT_EQ(code_of([&] { lockscope::load_profile(path); }), 2);
  EXPECT_LT(peak_rss_mib() - before, 64);
  std::remove(path.c_str());
}

// ---------------------------------------------------------------- test_workqueue

TEST(TestWorkqueueParser, HugeNumbersDoNotThrow) {
  std::string big(400, '9');
  std::string log = "test_workqueue:   cpu " + big + " items/sec p50=" + big + " p90=1 p95=1 ns\n" +
                    "test_workqueue:   smt 100 items/sec p50=1 p90=2 p95=3 ns\n";
  std::vector<lockscope::TestWorkqueueRow> rows;
  ASSERT_NO_THROW(rows = lockscope::parse_test_workqueue(log));
  // The absurd row is not a row; the good one survives.
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].scope, "smt");
  EXPECT_DOUBLE_EQ(rows[0].p95_ns, 3);
}

TEST(TestWorkqueueParser, VeryLongLinesDoNotOverflowTheStack) {
  // std::regex matches recursively: a long run of whitespace in one line
  // must not exhaust the stack.
  std::string log = "test_workqueue:" + std::string(1 << 20, ' ') +
                    "cpu 1 items/sec p50=1 p90=1 p95=1 ns\n" + std::string(1 << 20, 'x') + "\n" +
                    "test_workqueue:   cpu 5 items/sec p50=1 p90=2 p95=3 ns\n";
  std::vector<lockscope::TestWorkqueueRow> rows;
  ASSERT_NO_THROW(rows = lockscope::parse_test_workqueue(log));
  ASSERT_FALSE(rows.empty());
  EXPECT_DOUBLE_EQ(rows.back().items_per_sec, 5);
}

// ---------------------------------------------------------------- result channel

TEST(ResultChannelParser, HostileInputsReportProblems) {
  for (const std::string& s :
       {std::string(""), std::string("LOCKSCOPE-EXIT 99999999999999999999\n"),
        std::string("LOCKSCOPE-FILE-BEGIN \n====\nLOCKSCOPE-FILE-END \n"),
        std::string("LOCKSCOPE-FILE-END x\nLOCKSCOPE-FILE-BEGIN x\n"), std::string(1 << 20, '\n'),
        std::string("LOCKSCOPE-FILE-BEGIN a\n") + std::string(1 << 20, 'A')}) {
    lockscope::vm::ResultChannel rc;
    ASSERT_NO_THROW(rc = lockscope::vm::parse_result_channel(s));
    EXPECT_FALSE(rc.problems.empty()) << s.substr(0, 40);
  }
}

TEST(ResultChannelParser, ExitCodeOutOfIntRangeIsAProblem) {
  auto rc = lockscope::vm::parse_result_channel("LOCKSCOPE-EXIT 4294967296\n");
  EXPECT_FALSE(rc.exit_code.has_value());
  EXPECT_FALSE(rc.problems.empty());
  EXPECT_EQ(lockscope::vm::parse_result_channel("LOCKSCOPE-EXIT 3\n").exit_code, 3);
}

TEST(ConsolePanicScan, VeryLongConsoleLineDoesNotOverflowTheStack) {
  // std::regex with ".*" recursed once per character and crashed on ~100 kB.
  std::string line = "[ 3.1] Kernel panic - not syncing: " + std::string(1 << 20, 'x');
  std::optional<std::string> p;
  ASSERT_NO_THROW(p = lockscope::vm::find_panic("boot\n" + line + "\r\nmore\n"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, line);
  EXPECT_FALSE(lockscope::vm::find_panic(std::string(1 << 20, 'x')).has_value());
  EXPECT_TRUE(lockscope::vm::find_panic("x\n[ 1.0] Oops: 0002 [#1] SMP\n").has_value());
}

}  // namespace
