// SPDX-License-Identifier: Apache-2.0
#include "lockscope/diff/diff.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../golden.hpp"
#include "lockscope/core/error.hpp"

namespace lockscope::diff {
namespace {

const std::string kData = std::string(LOCKSCOPE_TEST_DATA) + "/diff/";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- gate expressions ------------------------------------------------------

TEST(GateParse, RelativeWithScope) {
  GateExpr g = parse_gate("  tput[cache] >= +5%  ");
  EXPECT_EQ(g.text, "tput[cache] >= +5%");
  EXPECT_EQ(g.key, "tput");
  EXPECT_EQ(g.scope, "cache");
  EXPECT_EQ(g.op, GateExpr::Op::kGe);
  EXPECT_DOUBLE_EQ(g.threshold, 5.0);
  EXPECT_TRUE(g.relative);
}

TEST(GateParse, MetricStatisticAndAbsolute) {
  GateExpr g = parse_gate("pool_lock_hold_ns.p95 <= -10%");
  EXPECT_EQ(g.key, "pool_lock_hold_ns.p95");
  EXPECT_TRUE(g.scope.empty());
  EXPECT_EQ(g.op, GateExpr::Op::kLe);
  EXPECT_DOUBLE_EQ(g.threshold, -10.0);
  EXPECT_TRUE(g.relative);

  GateExpr s = parse_gate("wakeups_under_pool_lock.share<=0.01");
  EXPECT_EQ(s.key, "wakeups_under_pool_lock.share");
  EXPECT_FALSE(s.relative);
  EXPECT_DOUBLE_EQ(s.threshold, 0.01);

  GateExpr p = parse_gate("p95[system] < -20.5%");
  EXPECT_EQ(p.key, "p95");
  EXPECT_EQ(p.scope, "system");
  EXPECT_EQ(p.op, GateExpr::Op::kLt);
  EXPECT_DOUBLE_EQ(p.threshold, -20.5);

  GateExpr c = parse_gate("rq_lock_nested_under_pool_lock.count[cache_shard] > 3");
  EXPECT_EQ(c.scope, "cache_shard");
  EXPECT_EQ(c.op, GateExpr::Op::kGt);
}

TEST(GateParse, BadExpressionsAreUsageErrors) {
  for (const char* bad :
       {"", "tput", "tput >= ", "tput => 5%", "tput >= 5%%", "tput >= five", "tput[] >= 5%",
        "tput[cache >= 5%", "pool_lock_hold_ns >= 5%", "pool_lock_hold_ns.p42 <= 1",
        "tput.p95 <= 1", "Tput >= 5%", "wakeups_under_pool_lock.share <= 2", "p95 <= 1. ",
        "tput >= 5% and", "tput >= +5", "p95 <= -3", "tput >= -100%", "tput >= -250%"}) {
    try {
      parse_gate(bad);
      ADD_FAILURE() << "accepted: '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage) << bad;
      EXPECT_FALSE(e.hint().empty()) << bad;
    }
  }
}

// `tput >= +5` silently meant "at least 5 items/s": the sign says a change
// was meant, so it is refused, and the hint spells both readings.
TEST(GateParse, SignedThresholdWithoutPercentIsRefusedWithBothSpellings) {
  try {
    parse_gate("tput >= +5");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("needs '%'"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("+5%"), std::string::npos) << e.hint();
    EXPECT_NE(e.hint().find(" 5 for an absolute"), std::string::npos) << e.hint();
  }
  EXPECT_FALSE(parse_gate("tput >= 5").relative);  // unsigned: an absolute threshold
}

TEST(GateParse, EveryStatisticReportShowsIsAGateStatistic) {
  for (const char* st : {"p50", "p90", "p95", "p99", "mean", "min", "max", "count", "share"}) {
    GateExpr g = parse_gate(std::string("pool_lock_hold_ns.") + st + " <= -10%");
    EXPECT_EQ(g.key, std::string("pool_lock_hold_ns.") + st);
  }
}

TEST(GateParse, FileWithComments) {
  std::vector<GateExpr> g = parse_gate_file(kData + "gate.txt");
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].text, "tput[cache] >= +5%");
  EXPECT_EQ(g[2].key, "wakeups_under_pool_lock.share");
}

// ---- comparison and gate -----------------------------------------------------

Report fixture_report(const std::vector<std::string>& gates,
                      const std::string& cand = "cand.json") {
  std::vector<GateExpr> g = parse_gates(gates);
  Report r =
      compare(load_side(kData + "base.json"), load_side(kData + cand), Options{}, gate_keys(g));
  apply_gate(r, g);
  r.base_path = "base.json";  // golden output must not depend on the checkout path
  r.cand_path = cand;
  return r;
}

TEST(Diff, MediansAndDeltasOfTheFixture) {
  Report r = fixture_report({});
  const Row* t = r.find("cache", "tput");
  ASSERT_NE(t, nullptr);
  // Baseline cache runs 320607, 318200, 325900, 311400: median (318200 + 320607) / 2.
  EXPECT_DOUBLE_EQ(t->base.median, 319403.5);
  EXPECT_DOUBLE_EQ(t->cand.median, 397830.0);
  EXPECT_NEAR(t->median_delta_pct, 100.0 * (397830.0 / 319403.5 - 1.0), 1e-9);
  // delta: the median of the 16 pairwise ratios (Hodges-Lehmann).
  std::vector<double> ratios;
  for (double x : t->base.v)
    for (double y : t->cand.v) ratios.push_back(y / x);
  std::sort(ratios.begin(), ratios.end());
  EXPECT_NEAR(t->delta_pct(), 100.0 * (std::sqrt(ratios[7] * ratios[8]) - 1.0), 1e-9);
  EXPECT_TRUE(t->tested);
  EXPECT_DOUBLE_EQ(t->mw.p, 2.0 / 70.0);  // 4 vs 4, complete separation
  // One value per run, never pooled events: 4 runs -> 4 values.
  EXPECT_EQ(t->base.v.size(), 4u);
  const Row* rq = r.find("system", "rq_lock_nested_under_pool_lock.count");
  ASSERT_NE(rq, nullptr);
  EXPECT_EQ(rq->cand.unavailable, 3u);
  EXPECT_FALSE(rq->comparable());
}

TEST(Diff, GatePassesOnTheContendedScope) {
  Report r = fixture_report({"tput[cache] >= +5%", "pool_lock_hold_ns.p95[cache] <= -10%"});
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kPass) << r.checks[0].reason;
  EXPECT_EQ(r.checks[1].outcome, Outcome::kPass) << r.checks[1].reason;
  EXPECT_EQ(r.exit_code, kExitOk);
  // 4 vs 4, every candidate run beyond every baseline run scaled by the
  // margin: the one-sided exact p of PASS is 1 / C(8, 4).
  EXPECT_DOUBLE_EQ(r.checks[0].p_pass, 1.0 / 70.0);
  EXPECT_DOUBLE_EQ(r.checks[0].p_fail, 1.0);
  EXPECT_EQ(r.family, 2u);
}

// The swapped fixture: the "candidate" lost ~20% throughput. The FAIL test
// of each check decides it, not a test of "no change".
TEST(Diff, RegressionIsDecidedByTheChecksOwnFailTest) {
  Side base = load_side(kData + "cand.json"), cand = load_side(kData + "base.json");
  std::vector<GateExpr> g = {parse_gate("tput[cache] >= -5%")};
  Report r = compare(base, cand, Options{}, {"tput"});
  apply_gate(r, g);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kRegression) << r.checks[0].reason;
  EXPECT_DOUBLE_EQ(r.checks[0].p_fail, 1.0 / 70.0);
  EXPECT_EQ(r.exit_code, kExitGateFailed);
  // "Stay within +-5%": two hypotheses of one row (two directions), Holm
  // over 2: 2/70 <= 0.05. The old gate counted the row's one p twice and
  // stayed inconclusive.
  g.push_back(parse_gate("tput[cache] <= +5%"));
  apply_gate(r, g);
  EXPECT_EQ(r.family, 2u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kRegression) << r.checks[0].reason;
  EXPECT_DOUBLE_EQ(r.checks[0].p_fail_adj, 2.0 / 70.0);
  EXPECT_EQ(r.checks[1].outcome, Outcome::kPass) << r.checks[1].reason;
  EXPECT_EQ(r.exit_code, kExitGateFailed);
  // A gain that must be +5% is a FAIL when the candidate lost: the margin
  // is what is tested.
  apply_gate(r, {parse_gate("tput[cache] >= +5%")});
  EXPECT_EQ(r.checks[0].outcome, Outcome::kRegression) << r.checks[0].reason;
}

// The FAIL family holds distinct (row, direction) hypotheses: the same check
// written twice, or two margins of one row and direction, count once.
TEST(Diff, TheFailFamilyCountsARowAndDirectionOnce) {
  Side base = load_side(kData + "cand.json"), cand = load_side(kData + "base.json");
  Report r = compare(base, cand, Options{}, {"tput"});
  apply_gate(r, {parse_gate("tput[cache] >= -5%"), parse_gate("tput >= -5%")});
  ASSERT_EQ(r.checks.size(), 3u);  // cache twice, system once
  EXPECT_EQ(r.family, 2u);
  EXPECT_DOUBLE_EQ(r.checks[0].p_fail_adj, 2.0 / 70.0);
  EXPECT_DOUBLE_EQ(r.checks[1].p_fail_adj, 2.0 / 70.0);
  apply_gate(r, {parse_gate("tput[cache] >= -5%"), parse_gate("tput[cache] >= -3%")});
  EXPECT_EQ(r.family, 1u);
  EXPECT_DOUBLE_EQ(r.checks[0].p_fail_adj, 1.0 / 70.0);
  EXPECT_EQ(r.checks[1].outcome, Outcome::kRegression);
  // Checks that cannot reach alpha are not in the family: 2 v 2 runs.
  Report two = compare(prefix(base, 2), prefix(cand, 2), Options{}, {"tput"});
  apply_gate(two, {parse_gate("tput[cache] >= -5%")});
  EXPECT_EQ(two.family, 0u);
  EXPECT_FALSE(two.checks[0].in_family);
}

TEST(Diff, InconclusiveReasons) {
  // 2 vs 2 runs cannot reach 0.05 one-sided (1/6); the hint says how many would.
  Side base = load_side(kData + "base.json"), cand = load_side(kData + "cand.json");
  Report r = compare(prefix(base, 2), prefix(cand, 2), Options{}, {"tput"});
  apply_gate(r, {parse_gate("tput[cache] >= +5%")});
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("2 vs 2 cannot reach p <= 0.05"), std::string::npos)
      << r.checks[0].reason;
  EXPECT_GE(r.checks[0].runs_needed, 3u);
  EXPECT_NE(r.checks[0].hint.find("runs per side would likely decide it"), std::string::npos)
      << r.checks[0].hint;
  // Unavailable metric.
  r = fixture_report({"rq_lock_nested_under_pool_lock.count[system] <= -50%"});
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("unavailable"), std::string::npos);
  // Lossy candidate (recursion misses in one cache run, a profile without
  // per-metric loss accounting): its lock metrics are not tested; the
  // workload's own throughput is.
  r = fixture_report({"pool_lock_hold_ns.p95[cache] <= +50%", "tput[cache] >= +5%"},
                     "lossy_cand.json");
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_NE(r.checks[0].reason.find("recursion_misses=3"), std::string::npos) << r.checks[0].reason;
  EXPECT_FALSE(r.checks[0].in_family);
  EXPECT_EQ(r.checks[1].reason.find("recursion_misses"), std::string::npos) << r.checks[1].reason;
  // Hosts of different size.
  r = fixture_report({"tput[cache] >= +5%"}, "cpus8_cand.json");
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("nr_cpus"), std::string::npos);
  // Absolute threshold: a sign test needs 5 candidate runs at 0.05 (1/32).
  r = fixture_report({"wakeups_under_pool_lock.share[cache] <= 0.01"});
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("smallest sign-test p = 0.0625"), std::string::npos)
      << r.checks[0].reason;
  EXPECT_EQ(r.checks[0].runs_needed, 5u) << r.checks[0].hint;
}

TEST(Diff, MaxLossToleratesASmallLossFraction) {
  std::vector<GateExpr> g = {parse_gate("pool_lock_hold_ns.p95[cache] <= +50%")};
  Side base = load_side(kData + "base.json");
  Side cand = load_side(kData + "lossy_cand.json");
  // The lossy run lost 3 events; give it a denominator of 1000 hook runs.
  size_t lossy = 0;
  for (auto& run : cand.profiles.at(0).runs)
    if (run.total_drops() > 0) {
      run.counters["hook_events"] = 1000;
      ++lossy;
    }
  ASSERT_EQ(lossy, 1u);
  Options strict;  // default: any loss makes the scope inconclusive
  Report r = compare(base, cand, strict, {"tput"});
  apply_gate(r, g);
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  Options tolerant;
  tolerant.max_loss = 0.01;  // 0.3% lost is within 1%
  r = compare(base, cand, tolerant, {"tput"});
  apply_gate(r, g);
  EXPECT_EQ(r.exit_code, kExitOk) << (r.checks.empty() ? "" : r.checks[0].reason);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("within --max-loss") != std::string::npos;
  EXPECT_TRUE(noted) << "a tolerated loss is still reported";
  tolerant.max_loss = 0.001;  // 0.3% is more than 0.1%
  r = compare(base, cand, tolerant, {"tput"});
  apply_gate(r, g);
  EXPECT_EQ(r.exit_code, kExitInconclusive);
}

// A loss counted against one metric blocks the checks of that metric only.
TEST(Diff, ALossBlocksOnlyTheMetricThatLostEvents) {
  Side base = load_side(kData + "base.json");
  Side cand = load_side(kData + "base.json");
  for (auto& run : cand.profiles.at(0).runs)
    if (run.scope == "cache") {
      run.drops["filter_full"] = 5;
      for (auto& [name, m] : run.metrics)
        m.loss = MetricLoss{name == "wakeups_under_pool_lock" ? 5u : 0u, 0,
                            name == "wakeups_under_pool_lock" ? 0.01 : 0.0};
    }
  Report r = compare(base, cand, Options{}, {});
  apply_gate(r, {parse_gate("wakeups_under_pool_lock.count[cache] <= +50%"),
                 parse_gate("pool_lock_hold_ns.p95[cache] <= +50%")});
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_NE(r.checks[0].reason.find("of wakeups_under_pool_lock's events"), std::string::npos)
      << r.checks[0].reason;
  EXPECT_EQ(r.checks[1].reason.find("lost"), std::string::npos) << r.checks[1].reason;
}

TEST(Diff, UnknownMetricOrScopeInAGateIsAUsageError) {
  for (const char* g : {"lock_hold_typo.p95 <= -10%", "tput[nosuchscope] >= 0%",
                        "wakeups_under_pool_lock.p95 <= 5"}) {
    try {
      fixture_report({g});
      ADD_FAILURE() << "accepted " << g;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage);
    }
  }
  // The hint lists what the profiles hold.
  try {
    fixture_report({"lock_hold_typo.p95 <= -10%"});
  } catch (const Error& e) {
    EXPECT_EQ(e.hint(),
              "metrics in these profiles: pool_lock_hold_ns, rq_lock_nested_under_pool_lock, "
              "wakeups_under_pool_lock");
  }
  try {
    fixture_report({"wakeups_under_pool_lock.p95 <= 5"});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no p95"), std::string::npos) << e.what();
    EXPECT_EQ(e.hint(), "it offers count, share");
  }
}

TEST(Diff, HistogramStatisticsAreCompared) {
  Report r = fixture_report({"pool_lock_hold_ns.mean[cache] <= -10%"});
  for (const char* k : {"pool_lock_hold_ns.p90", "pool_lock_hold_ns.mean", "pool_lock_hold_ns.min",
                        "pool_lock_hold_ns.max"})
    EXPECT_NE(r.find("cache", k), nullptr) << k;
  const Row* mean = r.find("cache", "pool_lock_hold_ns.mean");
  ASSERT_NE(mean, nullptr);
  ASSERT_EQ(mean->base.v.size(), 4u);
  EXPECT_DOUBLE_EQ(mean->base.v[0], 1200.0);  // sum 120000 / count 100
  EXPECT_EQ(r.checks[0].outcome, Outcome::kPass) << r.checks[0].reason;
}

TEST(Diff, FolderSideEqualsSingleFile) {
  Report a = compare(load_side(kData + "base.json"), load_side(kData + "cand.json"), Options{});
  Report b = compare(load_side(kData + "base.json"), load_side(kData + "cand_folder"), Options{});
  EXPECT_EQ(b.cand_profiles, 2u);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_EQ(a.rows[i].cand.v, b.rows[i].cand.v) << a.rows[i].key;
    EXPECT_EQ(a.rows[i].shift.ci.lo, b.rows[i].shift.ci.lo) << a.rows[i].key;
  }
}

TEST(Diff, SingleRunStillDiffs) {
  Report r = compare(load_side(kData + "single_base.json"), load_side(kData + "single_cand.json"),
                     Options{});
  const Row* t = r.find("cache", "tput");
  ASSERT_NE(t, nullptr);
  EXPECT_NEAR(t->delta_pct(), 100.0 * (400560.0 / 320607.0 - 1.0), 1e-9);
  EXPECT_FALSE(t->tested);
  std::string text = render_text(r);
  EXPECT_NE(text.find("1 vs 1 runs cannot reach p <= 0.05"), std::string::npos) << text;
  EXPECT_NE(text.find("+24.9% ~"), std::string::npos) << text;
}

// A row neither side recorded is shown only in the scope a gate asks about:
// here no run has lock metrics (as test_workqueue's per-scope runs: its lock
// metrics live in scope "all"), and the gate names scope system.
TEST(Diff, UnrecordedRowShownOnlyWhereGated) {
  char tmpl[] = "/tmp/lockscope-diff-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::vector<std::string> paths;
  for (const char* f : {"base.json", "cand.json"}) {
    nlohmann::json p = nlohmann::json::parse(slurp(kData + f));
    for (auto& run : p["runs"]) run["metrics"] = nlohmann::json::object();
    paths.push_back(dir + "/" + f);
    std::ofstream(paths.back()) << p.dump();
  }
  std::vector<GateExpr> g = parse_gates({"wakeups_under_pool_lock.share[system] <= 0.5"});
  Report r = compare(load_side(paths[0]), load_side(paths[1]), Options{}, gate_keys(g));
  apply_gate(r, g);
  for (const auto& p : paths) std::remove(p.c_str());
  rmdir(tmpl);
  std::string text = render_text(r);
  // Gated in system: shown there (and the gate cannot pass without data).
  EXPECT_NE(text.find("system  wakeups_under_pool_lock share"), std::string::npos) << text;
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kInconclusive);
  // The same key in the other scope, and keys no gate names: left out.
  EXPECT_EQ(text.find("cache   wakeups_under_pool_lock share"), std::string::npos) << text;
  EXPECT_EQ(text.find("system  pool_lock_hold_ns p95"), std::string::npos) << text;
  EXPECT_NE(text.find("cache   tput"), std::string::npos) << text;
}

// A host where the function hooks were refused: the three lock metrics are
// unavailable in both profiles and pool_lock_wait_ns (tracepoints) grew.
// Every metric both sides measured has a row; the unavailable ones fold
// into one note instead of rows that say `unavailable` twice.
TEST(Diff, TracepointOnlyHostShowsEveryMeasuredMetric) {
  char tmpl[] = "/tmp/lockscope-diff-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::vector<std::string> paths;
  int side = 0;
  for (const char* f : {"base.json", "cand.json"}) {
    nlohmann::json p = nlohmann::json::parse(slurp(kData + f));
    p["backend"] = "tracepoint";
    int i = 0;
    for (auto& run : p["runs"]) {
      auto& m = run["metrics"];
      for (const char* name :
           {"pool_lock_hold_ns", "wakeups_under_pool_lock", "rq_lock_nested_under_pool_lock"})
        m[name] = {{"status", "unavailable"}, {"reason", "fentry refused (EPERM)"}};
      uint64_t n = side ? 4390 + i : 100 + i;  // +4290%
      m["pool_lock_wait_ns"] = {{"status", "ok"},
                                {"histogram",
                                 {{"count", n},
                                  {"sum", n * 1200},
                                  {"min", 1200},
                                  {"max", 1200},
                                  {"buckets", {{197, n}}}}}};
      ++i;
    }
    paths.push_back(dir + "/" + f);
    std::ofstream(paths.back()) << p.dump();
    ++side;
  }
  Report r = compare(load_side(paths[0]), load_side(paths[1]), Options{});
  for (const auto& p : paths) std::remove(p.c_str());
  rmdir(tmpl);
  std::string text = render_text(r);
  EXPECT_NE(text.find("cache   pool_lock_wait_ns count"), std::string::npos) << text;
  EXPECT_NE(text.find("cache   pool_lock_wait_ns p95"), std::string::npos) << text;
  EXPECT_EQ(text.find("unavailable  unavailable"), std::string::npos) << text;
  EXPECT_EQ(text.find("pool_lock_hold_ns p95"), std::string::npos) << text;
  size_t notes = 0;
  for (const auto& n : r.notes)
    if (n.find("unavailable in both profiles") != std::string::npos) {
      ++notes;
      EXPECT_NE(n.find("pool_lock_hold_ns, rq_lock_nested_under_pool_lock, "
                       "wakeups_under_pool_lock: fentry refused (EPERM)"),
                std::string::npos)
          << n;
    }
  EXPECT_EQ(notes, 1u);
  const Row* wait = r.find("cache", "pool_lock_wait_ns.count");
  ASSERT_NE(wait, nullptr);
  EXPECT_TRUE(wait->in_table);
  EXPECT_GT(wait->delta_pct(), 4000);
  EXPECT_NE(render_markdown(r).find("pool\\_lock\\_wait\\_ns count"), std::string::npos);
}

// Synthetic sides: one scope, tput per run, and a share metric when given.
Side synthetic(const std::vector<double>& tput, const std::vector<double>& share = {}) {
  Profile p;
  p.kernel_release = "k";
  p.nr_cpus = 4;
  p.backend = "fentry";
  for (size_t i = 0; i < tput.size(); ++i) {
    Run run;
    run.scope = "cache";
    run.repetition = uint32_t(i);
    WorkloadResult w;
    w.name = "sim";
    w.items_per_sec = tput[i];
    run.workload = w;
    if (i < share.size()) {
      Metric m;
      m.total = 1000000;
      m.count = uint64_t(std::llround(share[i] * 1e6));
      run.metrics["wakeups_under_pool_lock"] = m;
    }
    p.runs.push_back(run);
  }
  Side s;
  s.path = "synthetic";
  s.files = {"synthetic.json"};
  s.profiles = {p};
  return s;
}

// Absolute checks: sign tests of the candidate's median, counted in the FAIL
// family like the relative ones.
TEST(Diff, AbsoluteChecksUseSignTests) {
  std::vector<double> t = {100, 101, 99, 102, 98, 100};
  Side base = synthetic(t, {0.4, 0.41, 0.39, 0.4, 0.42, 0.38});
  Side low = synthetic(t, {0.010, 0.012, 0.011, 0.009, 0.013, 0.010});
  Report r = compare(base, low, Options{}, {});
  apply_gate(r, {parse_gate("wakeups_under_pool_lock.share <= 0.02")});
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kPass) << r.checks[0].reason;
  EXPECT_DOUBLE_EQ(r.checks[0].p_pass, 1.0 / 64.0);  // all 6 below 0.02
  EXPECT_TRUE(r.checks[0].ci.valid);
  // 5 of 6 above the threshold: P(Bin(6, 1/2) >= 5) = 7/64 > 0.05.
  Side mixed = synthetic(t, {0.03, 0.031, 0.029, 0.01, 0.033, 0.032});
  r = compare(base, mixed, Options{}, {});
  apply_gate(r, {parse_gate("wakeups_under_pool_lock.share <= 0.02")});
  EXPECT_EQ(r.checks[0].outcome, Outcome::kInconclusive);
  EXPECT_DOUBLE_EQ(r.checks[0].p_fail, 7.0 / 64.0);
  EXPECT_FALSE(r.checks[0].hint.empty());
  Side high = synthetic(t, {0.03, 0.031, 0.029, 0.034, 0.033, 0.032});
  r = compare(base, high, Options{}, {});
  apply_gate(r, {parse_gate("wakeups_under_pool_lock.share <= 0.02"), parse_gate("tput >= -5%")});
  EXPECT_EQ(r.family, 2u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kRegression) << r.checks[0].reason;
  EXPECT_DOUBLE_EQ(r.checks[0].p_fail_adj, 2.0 / 64.0);
}

// A change at the margin, the simulation's worst case: with enough runs the
// runs hint says the check will stay undecided or names many runs.
TEST(Diff, UndecidedChecksSayHowManyRunsWouldDecide) {
  Side base = synthetic({100, 104, 96, 101, 99, 103});
  Side cand = synthetic({97, 94, 99, 96, 95, 98});  // about -4% against a -5% margin
  Report r = compare(base, cand, Options{}, {"tput"});
  apply_gate(r, {parse_gate("tput >= -5%")});
  ASSERT_EQ(r.checks[0].outcome, Outcome::kInconclusive) << r.checks[0].reason;
  EXPECT_GT(r.checks[0].runs_needed, 6u);
  EXPECT_NE(r.checks[0].hint.find("PASS at 80% power, Noether's formula"), std::string::npos)
      << r.checks[0].hint;
  // The same change decided by more runs of the same spread.
  std::vector<double> b, c;
  for (size_t i = 0; i < r.checks[0].runs_needed; ++i) {
    b.push_back(base.profiles[0].runs[i % 6].workload->items_per_sec * (1 + 1e-4 * double(i)));
    c.push_back(cand.profiles[0].runs[i % 6].workload->items_per_sec * (1 + 1e-4 * double(i)));
  }
  Report more = compare(synthetic(b), synthetic(c), Options{}, {"tput"});
  apply_gate(more, {parse_gate("tput >= -5%")});
  EXPECT_EQ(more.checks[0].outcome, Outcome::kPass) << more.checks[0].reason;
}

// ---- golden output ---------------------------------------------------------

void expect_golden(const std::string& actual, const std::string& file) {
  testing::expect_golden(actual, "diff/" + file);
}

const std::vector<std::string> kGoldenGate = {"tput[cache] >= +5%", "pool_lock_hold_ns.p95 <= -10%",
                                              "wakeups_under_pool_lock.share <= 0.01"};

TEST(DiffGolden, Text) { expect_golden(render_text(fixture_report(kGoldenGate)), "golden.txt"); }
TEST(DiffGolden, Markdown) {
  expect_golden(render_markdown(fixture_report(kGoldenGate)), "golden.md");
}

TEST(DiffGolden, TextFitsTheTerminal) {
  std::string text = render_text(fixture_report(kGoldenGate), RenderOptions{80});
  size_t start = 0, longest = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    longest = std::max(longest, nl - start);
    start = nl + 1;
  }
  EXPECT_LE(longest, 80u) << text;
  EXPECT_NE(text.find("pool_lock_hold_ns p95"), std::string::npos);
}

TEST(DiffJson, MachineReadable) {
  nlohmann::json j = nlohmann::json::parse(render_json(fixture_report(kGoldenGate)));
  EXPECT_EQ(j.at("schema"), "lockscope.diff");
  EXPECT_EQ(j.at("version"), 2);
  const auto& gate = j.at("gate");
  EXPECT_EQ(gate.at("outcome"), "INCONCLUSIVE");
  EXPECT_EQ(gate.at("family"), 3);
  const auto& c = gate.at("checks").at(0);
  EXPECT_EQ(c.at("kind"), "relative");
  EXPECT_DOUBLE_EQ(c.at("p_pass").get<double>(), 1.0 / 70.0);
  EXPECT_DOUBLE_EQ(c.at("p_fail_holm").get<double>(), 1.0);
  EXPECT_TRUE(c.at("ci").contains("level"));
  bool unavailable = false, q = false;
  for (const auto& row : j.at("rows")) {
    unavailable |= row.at("candidate").at("status") == "unavailable";
    q |= row.at("q_bh").is_number();
    EXPECT_TRUE(row.contains("change_ci_pct")) << row.dump();
  }
  EXPECT_TRUE(unavailable);
  EXPECT_TRUE(q);
  EXPECT_FALSE(j.contains("bootstrap"));
}

// ---- the real binary: exit codes -------------------------------------------

struct Result {
  int code = -1;
  std::string out;
};

Result run_lockscope(const std::string& args) {
  std::string cmd = std::string(LOCKSCOPE_BINARY) + " " + args + " 2>&1";
  Result r;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = pclose(f);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class DiffCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(LOCKSCOPE_BINARY, X_OK) != 0)
      GTEST_SKIP() << "lockscope binary not built at " << LOCKSCOPE_BINARY
                   << " (build the `lockscope` target first)";
  }
  std::string d(const std::string& f) { return "'" + kData + f + "'"; }
};

TEST_F(DiffCli, MalformedInputsExitTwoWithTheReason) {
  struct Case {
    std::string args, reason;
  } cases[] = {
      {d("base.json") + " " + d("truncated.json"), "not valid JSON"},
      {d("base.json") + " " + d("wrong_schema.json"), "expected 'lockscope.profile'"},
      {d("bad_version.json") + " " + d("cand.json"), "version 9 is not supported"},
      {d("base.json") + " " + d("bad_hist.json"), "bucket counts do not add up"},
      {d("base.json") + " " + d("other_scope.json"), "no affinity scope in common"},
      {d("base.json") + " " + d("pty_workload.json"), "mismatched profiles"},
      {d("base.json") + " " + d("no_such_file.json"), "cannot read"},
      {d("base.json") + " " + d("gate.txt"), "not valid JSON"},
      {d("base.json") + " " + d("cand.json") + " --gate 'tput >= fast'", "bad gate expression"},
      {d("base.json") + " " + d("cand.json") + " --gate 'hold.p95 <= -1%'", "unknown metric"},
      {d("base.json") + " " + d("cand.json") + " --format yaml", "yaml"},
  };
  for (const auto& c : cases) {
    Result r = run_lockscope("diff " + c.args);
    EXPECT_EQ(r.code, kExitUsage) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.reason), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST_F(DiffCli, EmptyFolderExitsTwo) {
  char tmpl[] = "/tmp/lockscope-diff-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  Result r = run_lockscope("diff " + d("base.json") + " " + tmpl);
  rmdir(tmpl);
  EXPECT_EQ(r.code, kExitUsage) << r.out;
  EXPECT_NE(r.out.find("holds no *.json profiles"), std::string::npos) << r.out;
}

TEST_F(DiffCli, GateOutcomesMapToExitCodes) {
  Result pass = run_lockscope("diff " + d("base.json") + " " + d("cand.json") +
                              " --gate 'tput[cache] >= +5%'");
  EXPECT_EQ(pass.code, kExitOk) << pass.out;
  EXPECT_NE(pass.out.find("PASS"), std::string::npos);

  Result reg = run_lockscope("diff " + d("cand.json") + " " + d("base.json") +
                             " --gate 'tput[cache] >= -5%'");
  EXPECT_EQ(reg.code, kExitGateFailed) << reg.out;
  EXPECT_NE(reg.out.find("REGRESSION"), std::string::npos);

  Result inc = run_lockscope("diff " + d("base.json") + " " + d("cand.json") + " --gate-file " +
                             d("gate.txt"));
  EXPECT_EQ(inc.code, kExitInconclusive) << inc.out;
  EXPECT_NE(inc.out.find("INCONCLUSIVE"), std::string::npos);

  Result removed = run_lockscope("diff " + d("base.json") + " " + d("cand.json") + " --seed 3");
  EXPECT_EQ(removed.code, kExitUsage) << removed.out;
  EXPECT_NE(removed.out.find("--seed was removed"), std::string::npos) << removed.out;
  EXPECT_NE(removed.out.find("hint: drop --seed"), std::string::npos) << removed.out;

  Result plain = run_lockscope("diff --format markdown " + d("base.json") + " " + d("cand_folder"));
  EXPECT_EQ(plain.code, kExitOk) << plain.out;
  EXPECT_NE(plain.out.find("| affinity\\_scope |"), std::string::npos) << plain.out;
}

TEST_F(DiffCli, OutputFileAndPictures) {
  char tmpl[] = "/tmp/lockscope-diff-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  Result r = run_lockscope("diff " + d("base.json") + " " + d("cand.json") +
                           " --gate 'tput[cache] >= +5%' --format html -o " + dir + "/d.html");
  EXPECT_EQ(r.code, kExitOk) << r.out;
  EXPECT_EQ(r.out, "") << "the page goes to the file";
  std::string html = slurp(dir + "/d.html");
  size_t verdict = html.find("gate: PASS"), table = html.find("affinity_scope"),
         svg = html.find("<svg");
  EXPECT_NE(verdict, std::string::npos) << html.substr(0, 2000);
  EXPECT_NE(table, std::string::npos);
  ASSERT_NE(svg, std::string::npos);
  EXPECT_LT(verdict, table);
  EXPECT_LT(table, svg);
  EXPECT_NE(html.find("tput (items/s)"), std::string::npos);
  r = run_lockscope("diff " + d("base.json") + " " + d("cand.json") +
                    " --gate 'tput[cache] >= +5%' --format svg -o " + dir + "/d.svg");
  EXPECT_EQ(r.code, kExitOk) << r.out;
  std::string svgdoc = slurp(dir + "/d.svg");
  EXPECT_EQ(svgdoc.rfind("<svg", 0), 0u) << svgdoc.substr(0, 200);
  EXPECT_NE(svgdoc.find("gate: PASS"), std::string::npos);
  EXPECT_NE(svgdoc.find("translate(0,"), std::string::npos) << "the pictures are embedded";
  std::remove((dir + "/d.html").c_str());
  std::remove((dir + "/d.svg").c_str());
  rmdir(tmpl);
}

TEST_F(DiffCli, SequentialNeedsThePlannedMaximum) {
  Result r = run_lockscope("diff " + d("base.json") + " " + d("cand.json") +
                           " --gate 'tput[cache] >= +5%' --sequential 3");
  EXPECT_EQ(r.code, kExitUsage) << r.out;
  EXPECT_NE(r.out.find("more than planned"), std::string::npos) << r.out;
  r = run_lockscope("diff " + d("base.json") + " " + d("cand.json") +
                    " --gate 'tput[cache] >= +5%' --sequential 4 --format json");
  EXPECT_EQ(r.code, kExitOk) << r.out;
  EXPECT_NE(r.out.find("\"look\": 4"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lockscope::diff
