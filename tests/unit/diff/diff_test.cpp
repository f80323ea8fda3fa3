// SPDX-License-Identifier: Apache-2.0
#include "lockscope/diff/diff.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
  for (const char* bad : {"", "tput", "tput >= ", "tput => 5%", "tput >= 5%%", "tput >= five",
                          "tput[] >= 5%", "tput[cache >= 5%", "pool_lock_hold_ns >= 5%",
                          "pool_lock_hold_ns.p42 <= 1", "tput.p95 <= 1", "Tput >= 5%",
                          "wakeups_under_pool_lock.share <= 2", "p95 <= 1. ", "tput >= 5% and"}) {
    try {
      parse_gate(bad);
      ADD_FAILURE() << "accepted: '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage) << bad;
      EXPECT_FALSE(e.hint().empty()) << bad;
    }
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
  EXPECT_NEAR(t->delta_pct, 100.0 * (397830.0 / 319403.5 - 1.0), 1e-9);
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
  // Holm over the two relative tests: 2 * (2/70).
  EXPECT_NEAR(r.checks[0].p_holm, 4.0 / 70.0, 1e-12);
}

TEST(Diff, RegressionNeedsTheCiBeyondTheMarginAndSignificance) {
  // Swapped sides: the "candidate" lost ~20% throughput.
  std::vector<GateExpr> g = {parse_gate("tput[cache] >= -5%")};
  Report r =
      compare(load_side(kData + "cand.json"), load_side(kData + "base.json"), Options{}, {"tput"});
  apply_gate(r, g);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kRegression) << r.checks[0].reason;
  EXPECT_EQ(r.exit_code, kExitGateFailed);
  // The same loss with two gated tests: Holm makes 2 * 2/70 = 0.057 > 0.05.
  g.push_back(parse_gate("p95[cache] <= +5%"));
  apply_gate(r, g);
  EXPECT_EQ(r.checks[0].outcome, Outcome::kInconclusive) << r.checks[0].reason;
  EXPECT_NE(r.checks[0].reason.find("not significant"), std::string::npos) << r.checks[0].reason;
  EXPECT_EQ(r.exit_code, kExitInconclusive);
}

TEST(Diff, InconclusiveReasons) {
  // 3 vs 3 runs cannot reach 0.05.
  Report r = fixture_report({"tput[system] >= +5%"});
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("3 vs 3 cannot reach p < 0.05"), std::string::npos)
      << r.checks[0].reason;
  EXPECT_NE(r.checks[0].reason.find("4 runs per side"), std::string::npos);
  // Unavailable metric.
  r = fixture_report({"rq_lock_nested_under_pool_lock.count[system] <= -50%"});
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("unavailable"), std::string::npos);
  // Lossy candidate (recursion misses in one cache run).
  r = fixture_report({"tput[cache] >= +5%"}, "lossy_cand.json");
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("recursion_misses=3"), std::string::npos) << r.checks[0].reason;
  // Hosts of different size.
  r = fixture_report({"tput[cache] >= +5%"}, "cpus8_cand.json");
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("nr_cpus"), std::string::npos);
  // Absolute threshold with too few candidate runs for a CI of the median.
  r = fixture_report({"wakeups_under_pool_lock.share[cache] <= 0.01"});
  EXPECT_EQ(r.exit_code, kExitInconclusive);
  EXPECT_NE(r.checks[0].reason.find("needs 6"), std::string::npos) << r.checks[0].reason;
}

TEST(Diff, MaxLossToleratesASmallLossFraction) {
  std::vector<GateExpr> g = {parse_gate("tput[cache] >= +5%")};
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

TEST(Diff, UnknownMetricOrScopeInAGateIsAUsageError) {
  for (const char* g : {"lock_hold_typo.p95 <= -10%", "tput[nosuchscope] >= 0%"}) {
    try {
      fixture_report({g});
      ADD_FAILURE() << "accepted " << g;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage);
    }
  }
}

TEST(Diff, FolderSideEqualsSingleFile) {
  Report a = compare(load_side(kData + "base.json"), load_side(kData + "cand.json"), Options{});
  Report b = compare(load_side(kData + "base.json"), load_side(kData + "cand_folder"), Options{});
  EXPECT_EQ(b.cand_profiles, 2u);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_EQ(a.rows[i].cand.v, b.rows[i].cand.v) << a.rows[i].key;
    EXPECT_EQ(a.rows[i].ci.lo, b.rows[i].ci.lo) << a.rows[i].key;  // same seed, same CI
  }
}

TEST(Diff, SingleRunStillDiffs) {
  Report r = compare(load_side(kData + "single_base.json"), load_side(kData + "single_cand.json"),
                     Options{});
  const Row* t = r.find("cache", "tput");
  ASSERT_NE(t, nullptr);
  EXPECT_NEAR(t->delta_pct, 100.0 * (400560.0 / 320607.0 - 1.0), 1e-9);
  EXPECT_FALSE(t->tested);
  std::string text = render_text(r);
  EXPECT_NE(text.find("no significance: 1 run"), std::string::npos) << text;
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

TEST(DiffJson, MachineReadable) {
  std::string j = render_json(fixture_report(kGoldenGate));
  EXPECT_NE(j.find("\"schema\": \"lockscope.diff\""), std::string::npos);
  EXPECT_NE(j.find("\"outcome\": \"INCONCLUSIVE\""), std::string::npos);
  EXPECT_NE(j.find("\"status\": \"unavailable\""), std::string::npos);
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

  Result plain = run_lockscope("diff --format markdown " + d("base.json") + " " + d("cand_folder"));
  EXPECT_EQ(plain.code, kExitOk) << plain.out;
  EXPECT_NE(plain.out.find("| affinity\\_scope |"), std::string::npos) << plain.out;
}

}  // namespace
}  // namespace lockscope::diff
