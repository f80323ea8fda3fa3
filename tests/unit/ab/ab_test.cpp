// SPDX-License-Identifier: Apache-2.0
// lockscope ab, pure logic: boot order, the guest's command, when too few
// boots make the experiment inconclusive, and input validation (exit 2) both
// through the library and through the real binary (which must refuse before
// it fetches or boots anything).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "lockscope/ab/ab.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/diff/diff.hpp"
#include "lockscope/stats/stats.hpp"
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
  // Sequential plans.
  auto seq = [](ab::Options& o) {
    o.until_decided = true;
    o.max_boots = 10;
    o.gates = {"tput >= -5%"};
  };
  EXPECT_EQ(bad(seq), 0);
  EXPECT_EQ(bad([&](ab::Options& o) {
              seq(o);
              o.gates.clear();
            }),
            kExitUsage);
  EXPECT_EQ(bad([&](ab::Options& o) {
              seq(o);
              o.max_boots = 1;
            }),
            kExitUsage);
  EXPECT_EQ(bad([&](ab::Options& o) {
              seq(o);
              o.boots_set = true;
            }),
            kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.max_boots = 8; }), kExitUsage);
  EXPECT_EQ(bad([](ab::Options& o) { o.resume = true; }), kExitUsage);  // needs -o
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
  o.resume = true;
  EXPECT_EQ(usage_code_of(o), 0) << "--resume continues in a folder with profiles";
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
      {"--baseline '7.2.*' --candidate '7.3.*' --until-decided --max-boots 10", "needs a --gate"},
      {"--baseline '7.2.*' --candidate '7.3.*' --until-decided --max-boots 10 --boots 4 "
       "--gate 'tput >= -5%'",
       "exclude each other"},
      {"--baseline '7.2.*' --candidate '7.3.*' --resume", "--resume needs -o"},
  };
  for (const auto& c : cases) {
    std::string out;
    EXPECT_EQ(run_binary(c.args, &out), kExitUsage) << c.args << "\n" << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << "\n" << out;
  }
}

// ---- the sequential plan ----------------------------------------------------

TEST(AbSequential, LookLevelsSpendAlphaOverThePlannedMaximum) {
  // Relative checks only: 1 / C(2j, j) must reach the look's share; looks 1-4
  // of 10 cannot (4 v 4: 1/70 > 0.05 * 16/100), so look 5 gets 0.05 * 25/100.
  std::vector<double> v = diff::look_levels(0.05, 10, false);
  ASSERT_EQ(v.size(), 10u);
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(v[j], 0.0) << j;
  EXPECT_NEAR(v[4], 0.0125, 1e-15);
  EXPECT_NEAR(v[5], 0.05 * 11 / 100, 1e-15);
  double sum = 0;
  for (double x : v) sum += x;
  EXPECT_NEAR(sum, 0.05, 1e-15);
  // With an absolute check the sign test (0.5^j) must reach it too: look 6
  // (0.018 >= 1/64); look 7 cannot (0.0065 < 1/128) and passes its share on.
  std::vector<double> a = diff::look_levels(0.05, 10, true);
  for (size_t j = 0; j < 5; ++j) EXPECT_EQ(a[j], 0.0) << j;
  EXPECT_NEAR(a[5], 0.018, 1e-15);
  EXPECT_EQ(a[6], 0.0);
  EXPECT_NEAR(a[7], 0.05 * (64 - 36) / 100.0, 1e-15);
  sum = 0;
  for (size_t j = 0; j < a.size(); ++j) {
    sum += a[j];
    if (a[j] > 0) {
      EXPECT_GE(a[j], std::pow(0.5, double(j + 1))) << j;
    }
  }
  EXPECT_LE(sum, 0.05 + 1e-15);
}

namespace {

// One side of an ab folder, in memory: run i of scope cache has tput[i].
diff::Side side_of(const std::vector<double>& tput, const char* name) {
  diff::Side s;
  s.path = name;
  for (size_t i = 0; i < tput.size(); ++i) {
    Profile p;
    p.kernel_release = name;
    p.nr_cpus = 2;
    p.backend = "fentry";
    Run r;
    r.scope = "cache";
    WorkloadResult w;
    w.name = "sim";
    w.items_per_sec = tput[i];
    r.workload = w;
    p.runs.push_back(r);
    s.files.push_back(std::string(name) + "/boot-" + std::to_string(2 * i + 1) + ".json");
    s.profiles.push_back(p);
  }
  return s;
}

std::vector<double> lognormal(stats::Rng& rng, size_t n, double mean, double sigma) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) {
    double u1 = (double(rng.next() >> 11) + 0.5) * 0x1.0p-53;
    double u2 = double(rng.next() >> 11) * 0x1.0p-53;
    v.push_back(mean * std::exp(sigma * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2)));
  }
  return v;
}

}  // namespace

TEST(AbSequential, AClearChangeIsDecidedAtTheFirstUsableLookAndStaysDecided) {
  diff::Options o;
  o.sequential = 10;
  std::vector<diff::GateExpr> g = {diff::parse_gate("tput >= -5%")};
  // Five pairs: -30%, every run apart: decided at look 5.
  std::vector<double> b = {100, 101, 99, 102, 98}, c = {70, 71, 69, 72, 68};
  diff::Report r = diff::compare_sequential(side_of(b, "b"), side_of(c, "c"), o, g);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].outcome, diff::Outcome::kRegression) << r.checks[0].reason;
  EXPECT_EQ(r.checks[0].look, 5u);
  EXPECT_NEAR(r.checks[0].level, 0.0125, 1e-15);
  EXPECT_TRUE(diff::decided(r));
  // Four pairs: no look before 5 may spend anything.
  b.pop_back();
  c.pop_back();
  r = diff::compare_sequential(side_of(b, "b"), side_of(c, "c"), o, g);
  EXPECT_EQ(r.checks[0].outcome, diff::Outcome::kInconclusive);
  EXPECT_NE(r.checks[0].reason.find("no share of alpha"), std::string::npos) << r.checks[0].reason;
  // A decision stands: later runs that undo the change do not reopen it.
  b = {100, 101, 99, 102, 98, 100, 100, 100};
  c = {70, 71, 69, 72, 68, 130, 131, 129};
  r = diff::compare_sequential(side_of(b, "b"), side_of(c, "c"), o, g);
  EXPECT_EQ(r.checks[0].outcome, diff::Outcome::kRegression);
  EXPECT_NE(r.checks[0].reason.find("decided at look 5"), std::string::npos) << r.checks[0].reason;
  // More runs than planned: a usage error.
  o.sequential = 4;
  try {
    diff::compare_sequential(side_of(b, "b"), side_of(c, "c"), o, g);
    ADD_FAILURE() << "accepted 8 runs for a plan of 4";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
  }
}

// The error rates hold across the looks: a candidate exactly at the margin,
// looked at after every pair up to the plan's 8 (union bound over looks).
TEST(AbSequential, ErrorRatesAtTheMarginStayBelowAlphaAcrossLooks) {
  diff::Options o;
  o.sequential = 8;
  std::vector<diff::GateExpr> g = {diff::parse_gate("tput >= -5%")};
  stats::Rng rng(99);
  const int reps = 400;
  int pass = 0, fail = 0;
  for (int i = 0; i < reps; ++i) {
    diff::Report r = diff::compare_sequential(side_of(lognormal(rng, 8, 1e5, 0.1), "b"),
                                              side_of(lognormal(rng, 8, 0.95e5, 0.1), "c"), o, g);
    pass += r.checks[0].outcome == diff::Outcome::kPass;
    fail += r.checks[0].outcome == diff::Outcome::kRegression;
  }
  double se = std::sqrt(0.05 * 0.95 / reps);
  EXPECT_LE(double(pass) / reps, 0.05 + 2 * se) << pass;
  EXPECT_LE(double(fail) / reps, 0.05 + 2 * se) << fail;
}

TEST(AbLoop, PairsUntilDecidedOrTheBudgetIsSpent) {
  std::vector<ab::Slot> booted;
  std::vector<int> looked;
  auto boot = [&](const ab::Slot& s) {
    booted.push_back(s);
    ab::BootOutcome b;
    b.slot = s;
    b.ok = true;
    return b;
  };
  int decide_at = 3;
  auto look = [&](int pairs) {
    looked.push_back(pairs);
    return pairs >= decide_at;
  };
  auto out = ab::drive({0, 20, true}, boot, look);
  ASSERT_EQ(out.size(), 6u);  // three pairs
  EXPECT_EQ(looked, (std::vector<int>{1, 2, 3}));
  for (size_t i = 0; i < booted.size(); ++i) {
    EXPECT_EQ(booted[i].number, int(i));
    EXPECT_EQ(booted[i].side, i % 2 ? ab::Side::kCandidate : ab::Side::kBaseline);
    EXPECT_EQ(booted[i].index, int(i / 2));
  }
  // Never decided: the budget (here 4 pairs) is the end.
  booted.clear();
  looked.clear();
  decide_at = 100;
  EXPECT_EQ(ab::drive({0, 8, true}, boot, look).size(), 8u);
  EXPECT_EQ(looked, (std::vector<int>{1, 2, 3, 4}));
  // A fixed plan never looks.
  looked.clear();
  EXPECT_EQ(ab::drive({0, 6, false}, boot, look).size(), 6u);
  EXPECT_TRUE(looked.empty());
  // Resumed after 2 pairs that had already decided: look once, boot nothing.
  decide_at = 2;
  booted.clear();
  looked.clear();
  EXPECT_TRUE(ab::drive({4, 20, true}, boot, look).empty());
  EXPECT_EQ(looked, (std::vector<int>{2}));
  // Resumed in the middle of a pair: the candidate boot comes first.
  booted.clear();
  looked.clear();
  decide_at = 3;
  out = ab::drive({3, 20, true}, boot, look);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(booted[0].number, 3);
  EXPECT_EQ(booted[0].side, ab::Side::kCandidate);
  EXPECT_EQ(looked, (std::vector<int>{2, 3}));
}

TEST(AbResume, OnlyTheSameExperimentContinues) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ab-resume-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ab::Options o = good();
  o.until_decided = true;
  o.max_boots = 10;
  o.gates = {"tput >= -5%"};
  std::string exp = ab::experiment_text(o, "/k/a", "/k/b");
  EXPECT_NE(exp.find("plan: until every gate check is decided, at most 10 boots per kernel"),
            std::string::npos)
      << exp;
  EXPECT_NE(exp.find("gate: tput >= -5%"), std::string::npos) << exp;
  EXPECT_EQ(ab::planned_boots(o), 10);
  auto code = [&](const std::string& e) {
    try {
      ab::read_resume(dir.string(), e);
    } catch (const Error& err) {
      return err.code();
    }
    return 0;
  };
  EXPECT_EQ(code(exp), kExitUsage) << "no experiment.txt yet";
  std::ofstream(dir / "experiment.txt") << exp;
  std::ofstream(dir / "boots.txt") << "boot 1/20 baseline k: ok (9 s)\nboot 2/20 candidate k: ok "
                                      "(9 s)\nboot 3/20 baseline k: LEFT OUT: hung (600 s)\n";
  ab::Resumed r = ab::read_resume(dir.string(), exp);
  EXPECT_EQ(r.done, 3);
  EXPECT_EQ(r.lines.size(), 3u);
  // Another plan (more boots after seeing the result) is another experiment.
  o.max_boots = 20;
  try {
    ab::read_resume(dir.string(), ab::experiment_text(o, "/k/a", "/k/b"));
    ADD_FAILURE() << "resumed with another plan";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("at most 10 boots"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(AbProgress, EachChecksStateAfterAPair) {
  diff::Options o;
  o.sequential = 10;
  diff::Report r =
      diff::compare_sequential(side_of({100, 101, 99}, "b"), side_of({70, 71, 69}, "c"), o,
                               {diff::parse_gate("tput >= -5%")});
  std::string line = ab::progress_line(r, 3, 10);
  EXPECT_EQ(line,
            "ab: after 3 of at most 10 pairs: tput >= -5% [cache] INCONCLUSIVE (no share of "
            "alpha at this look)");
  r = diff::compare_sequential(side_of({100, 101, 99, 102, 98}, "b"),
                               side_of({70, 71, 69, 72, 68}, "c"), o,
                               {diff::parse_gate("tput[cache] >= -5%")});
  EXPECT_EQ(ab::progress_line(r, 5, 10),
            "ab: after 5 of at most 10 pairs: tput[cache] >= -5% REGRESSION (look 5)");
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
