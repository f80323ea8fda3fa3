// SPDX-License-Identifier: Apache-2.0
// lockscope ab, pure logic: boot order, the guest's command, when too few
// boots make the experiment inconclusive, and input validation (exit 2) both
// through the library and through the real binary (which must refuse before
// it fetches or boots anything).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "lockscope/ab/ab.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/workloads/plan.hpp"

using namespace lockscope;

namespace {

ab::Options good() {
  ab::Options o;
  o.baseline = "7.2.*";
  o.candidate = "7.3.*";
  return o;
}

int usage_code_of(const ab::Options& o) {
  try {
    ab::validate(o);
  } catch (const Error& e) {
    return e.code();
  }
  return 0;
}

ab::BootOutcome outcome(ab::Side side, int index, bool ok) {
  ab::BootOutcome b;
  b.slot.side = side;
  b.slot.index = index;
  b.ok = ok;
  return b;
}

int run_binary(const std::string& args, std::string* err) {
  std::string cmd = std::string(LOCKSCOPE_BINARY) + " ab " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) *err += buf;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST(AbSchedule, InterleavesBaselineAndCandidate) {
  auto s = ab::schedule(3);
  ASSERT_EQ(s.size(), 6u);
  const ab::Side want[] = {ab::Side::kBaseline,  ab::Side::kCandidate, ab::Side::kBaseline,
                           ab::Side::kCandidate, ab::Side::kBaseline,  ab::Side::kCandidate};
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].number, int(i));
    EXPECT_EQ(s[i].side, want[i]) << i;
    EXPECT_EQ(s[i].index, int(i / 2)) << i;
  }
  EXPECT_STREQ(ab::side_name(ab::Side::kBaseline), "baseline");
  EXPECT_STREQ(ab::side_name(ab::Side::kCandidate), "candidate");
}

TEST(AbGuestCommand, TestWorkqueueAndPty) {
  ab::Options o = good();
  o.items = 1000;
  o.threads = 2;
  EXPECT_EQ(ab::guest_command(o, "baseline"),
            "lockscope record --workload test_workqueue=/lib/modules/test_workqueue.ko --scope all "
            "--runs 1 "
            "--items 1000 --threads 2 --label baseline -o $RESULTS/profile.json");
  o.workload = "pty";
  o.scope = "cache,system";
  o.threads = ab::kUnset;
  EXPECT_EQ(ab::guest_command(o, "candidate"),
            "mkdir -p /dev/pts; mount -t devpts devpts /dev/pts 2>/dev/null || true; lockscope "
            "record --workload pty --scope cache,system --runs 1 --items 1000 --label candidate "
            "-o $RESULTS/profile.json");
}

TEST(AbSufficiency, NeedsTwoUsableBootsPerSide) {
  using ab::Side;
  std::vector<ab::BootOutcome> v = {
      outcome(Side::kBaseline, 0, true), outcome(Side::kCandidate, 0, true),
      outcome(Side::kBaseline, 1, true), outcome(Side::kCandidate, 1, false),
      outcome(Side::kBaseline, 2, true), outcome(Side::kCandidate, 2, false)};
  auto s = ab::sufficiency(v);
  EXPECT_EQ(s.baseline, 3);
  EXPECT_EQ(s.candidate, 1);
  EXPECT_FALSE(s.enough);
  EXPECT_NE(s.reason.find("1 candidate"), std::string::npos) << s.reason;

  v[3].ok = true;
  s = ab::sufficiency(v);
  EXPECT_EQ(s.candidate, 2);
  EXPECT_TRUE(s.enough);
  EXPECT_TRUE(s.reason.empty());

  EXPECT_FALSE(ab::sufficiency({}).enough);
}

TEST(AbDescribe, LeftOutBootNamesReasonAndConsole) {
  ab::BootOutcome b = outcome(ab::Side::kCandidate, 1, false);
  b.slot.number = 3;
  b.kernel = "7.3.4+deb13-cloud-amd64";
  b.reason = "hung: killed at the timeout after 600 s";
  b.console = "d/boots/004-candidate/console.log";
  b.seconds = 600;
  EXPECT_EQ(ab::describe(b, 10),
            "boot 4/10 candidate 7.3.4+deb13-cloud-amd64: LEFT OUT: hung: killed at the timeout "
            "after 600 s "
            "(600 s, console d/boots/004-candidate/console.log)");
  b.ok = true;
  b.retried = true;
  b.reason.clear();
  EXPECT_EQ(ab::describe(b, 10),
            "boot 4/10 candidate 7.3.4+deb13-cloud-amd64: ok (after one retry: the first boot "
            "printed no rows) "
            "(600 s)");
}

TEST(AbValidate, AcceptsGoodOptions) { EXPECT_EQ(usage_code_of(good()), 0); }

TEST(AbValidate, RejectsBadInputWithUsageCode) {
  auto bad = [](auto change) {
    ab::Options o = good();
    change(o);
    return usage_code_of(o);
  };
  EXPECT_EQ(bad([](ab::Options& o) { o.baseline.clear(); }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.boots = 1; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.boots = 0; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.workload = "pipe"; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.scope = "cpu,nope"; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.items = 0; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.threads = -5; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.smp = 0; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.memory_mb = 64; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.timeout_s = 0; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.max_loss = 1.5; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.format = "svg"; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.gates = {"tput >="}; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.guest_binary = "/nonexistent/lockscope"; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.candidate = "/nonexistent/vmlinuz"; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) {
              o.workload = "pty";
              o.baseline_module = "x.ko";
            }),
            kExitUsage);
}

TEST(AbValidate, RefusesAnOutputFolderThatAlreadyHoldsProfiles) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ab-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "baseline");
  ab::Options o = good();
  o.out_dir = dir.string();
  EXPECT_EQ(usage_code_of(o), 0) << "an empty side folder is fine";
  std::ofstream(dir / "baseline" / "boot-001.json") << "{}";
  EXPECT_EQ(usage_code_of(o), kExitUsage);
  fs::remove_all(dir);
}

TEST(AbCli, BadArgumentsExitTwoBeforeBooting) {
  struct Case {
    const char* args;
    const char* says;
  } cases[] = {
      {"--candidate '7.3.*'", "--baseline"},
      {"--baseline '7.2.*' --candidate '7.3.*' --boots 1", "--boots"},
      {"--baseline '7.2.*' --candidate '7.3.*' --workload nope", "workload"},
      {"--baseline '7.2.*' --candidate '7.3.*' --gate 'tput[cache] >='", "gate"},
      {"--baseline /nonexistent/vmlinuz --candidate '7.3.*'", "not found"},
      // The output folder is checked before kernels are looked up (which may
      // download for minutes): no kernel matches 9.9.*, yet -o is what fails.
      {"--baseline '9.9.*' --candidate '9.9.*' -o /proc/lockscope-nope", "cannot create"},
  };
  for (const auto& c : cases) {
    std::string out;
    EXPECT_EQ(run_binary(c.args, &out), kExitUsage) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << "\n" << out;
  }
}

TEST(KmsgRecords, EscapedTabsAreDecodedSoRowsParse) {
  // /dev/kmsg escapes control characters; test_workqueue separates fields with tabs.
  std::string raw =
      "6,812,16767048,-;test_workqueue:   cpu              4334 "
      "items/sec\\x09p50=26430\\x09p90=53530\\x09"
      "p95=124290 ns\n"
      " SUBSYSTEM=none\n"
      "6,813,17198406,-;test_workqueue:   smt              4751 "
      "items/sec\\x09p50=25460\\x09p90=45120\\x09"
      "p95=85420 ns\n";
  std::string text = kmsg_records_to_text(raw);
  EXPECT_EQ(text.find("\\x09"), std::string::npos) << text;
  auto rows = parse_test_workqueue(text);
  ASSERT_EQ(rows.size(), 2u) << text;
  EXPECT_EQ(rows[0].scope, "cpu");
  EXPECT_DOUBLE_EQ(rows[0].items_per_sec, 4334);
  EXPECT_DOUBLE_EQ(rows[1].p95_ns, 85420);
  // A backslash that is not an escape stays as it is.
  EXPECT_EQ(kmsg_records_to_text("6,1,2,-;a\\b \\x4\n"), "a\\b \\x4\n");
}
