// SPDX-License-Identifier: Apache-2.0
// Pure logic of the workloads: scope lists, plan interleaving, summaries, the
// bench table, kernel-log parsing, and the scope guard against a plain file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "lockscope/core/error.hpp"
#include "lockscope/core/signals.hpp"
#include "lockscope/workloads/plan.hpp"

using namespace lockscope;

namespace {

std::vector<std::string> scopes_of(const std::vector<PlanStep>& steps) {
  std::vector<std::string> v;
  v.reserve(steps.size());
  for (const auto& s : steps) v.push_back(s.scope);
  return v;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/lockscope-wl-XXXXXX";
    int fd = mkstemp(tmpl);
    path_ = tmpl;
    if (fd >= 0) close(fd);
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST(ScopeList, ParsesListKeepsOrderDropsDuplicates) {
  EXPECT_EQ(parse_scope_list("system,cpu"), (std::vector<std::string>{"system", "cpu"}));
  EXPECT_EQ(parse_scope_list(" cpu , smt,cpu,"), (std::vector<std::string>{"cpu", "smt"}));
}

TEST(ScopeList, AllIsEverySeedScopeInOrder) {
  EXPECT_EQ(parse_scope_list("all"),
            (std::vector<std::string>{"cpu", "smt", "cache_shard", "cache", "numa", "system"}));
  EXPECT_EQ(parse_scope_list("numa,all").front(), "numa");
  EXPECT_EQ(parse_scope_list("numa,all").size(), 6u);
}

TEST(ScopeList, UnknownScopeIsUsageErrorListingValidOnes) {
  try {
    parse_scope_list("cpu,llc");
    FAIL() << "no error for an unknown scope";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("'llc'"), std::string::npos) << e.what();
    for (const char* s : {"cpu", "smt", "cache_shard", "cache", "numa", "system"})
      EXPECT_NE(e.hint().find(s), std::string::npos) << e.hint();
  }
}

TEST(ScopeList, EmptyListIsUsageError) {
  for (const char* text : {"", ",", " , "}) {
    try {
      parse_scope_list(text);
      FAIL() << "no error for '" << text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage);
    }
  }
}

TEST(Plan, InterleavesRepetitionsAcrossScopes) {
  auto steps = interleave({"cpu", "smt", "cache"}, 2);
  EXPECT_EQ(scopes_of(steps),
            (std::vector<std::string>{"cpu", "smt", "cache", "cpu", "smt", "cache"}));
  ASSERT_EQ(steps.size(), 6u);
  for (uint32_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].index, i);
    EXPECT_EQ(steps[i].total, 6u);
    EXPECT_EQ(steps[i].repetition, i / 3);
  }
  EXPECT_TRUE(interleave({"cpu"}, 0).empty());
}

namespace {

// A workload that records the scope file content each time it runs.
class FakeWorkload : public Workload {
 public:
  FakeWorkload(std::string path, bool follows, int fail_at = -1)
      : path_(std::move(path)), follows_(follows), fail_at_(fail_at) {}
  std::string name() const override { return "fake"; }
  bool follows_default_scope() const override { return follows_; }
  std::vector<WorkloadResult> run(const std::string& scope) override {
    seen.push_back(slurp(path_));
    if (int(seen.size()) - 1 == fail_at_) throw Error(kExitInconclusive, "fake failure");
    if (follows_) {
      WorkloadResult r;
      r.name = "fake";
      r.scope = scope;
      r.items_per_sec = double(seen.size());
      return {r};
    }
    std::vector<WorkloadResult> all;
    for (const auto& s : test_workqueue_scopes()) {
      WorkloadResult r;
      r.scope = s;
      all.push_back(r);
    }
    return all;
  }
  std::vector<std::string> seen;

 private:
  std::string path_;
  bool follows_;
  int fail_at_;
};

}  // namespace

TEST(Plan, RunPlanSetsEachScopeAndRestoresOriginal) {
  TempFile f("cache\n");
  FakeWorkload w(f.path(), true);
  BenchPlan plan;
  plan.scopes = {"cpu", "system"};
  plan.runs = 2;
  plan.scope_path = f.path();
  std::vector<std::string> started, ended;
  auto runs = run_plan(
      w, plan, [&](const PlanStep& s) { started.push_back(s.scope); },
      [&](const PlanStep& s, std::vector<lockscope::Run>& rs) {
        ended.push_back(s.scope);
        ASSERT_EQ(rs.size(), 1u);
        rs[0].counters["marker"] = s.index;  // hooks may add to the run
      });
  EXPECT_EQ(w.seen, (std::vector<std::string>{"cpu", "system", "cpu", "system"}));
  EXPECT_EQ(started, w.seen);
  EXPECT_EQ(ended, w.seen);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[3].scope, "system");
  EXPECT_EQ(runs[3].repetition, 1u);
  EXPECT_EQ(runs[3].counters.at("marker"), 3u);
  EXPECT_EQ(slurp(f.path()), "cache");
}

// Kernels before 6.5 have no affinity scope file: unscoped runs, unless the
// user named scopes.
TEST(Plan, WithoutAffinityScopesTheRunsAreUnscoped) {
  TempFile f("");
  FakeWorkload w(f.path(), true);
  BenchPlan plan;
  plan.scopes = known_scopes();  // --scope all, the default
  plan.runs = 2;
  plan.scope_path = f.path() + ".missing";
  auto runs = run_plan(w, plan, nullptr, nullptr);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].scope, "");
  EXPECT_EQ(runs[1].repetition, 1u);
  plan.scopes = {"cache"};
  try {
    run_plan(w, plan, nullptr, nullptr);
    FAIL() << "a named scope ran on a kernel without scopes";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUnsupported);
    EXPECT_NE(std::string(e.what()).find("no workqueue affinity scopes"), std::string::npos);
  }
}

TEST(Plan, RunPlanRestoresScopeWhenTheWorkloadThrows) {
  TempFile f("numa\n");
  FakeWorkload w(f.path(), true, /*fail_at=*/2);
  BenchPlan plan;
  plan.scopes = {"cpu", "smt"};
  plan.runs = 3;
  plan.scope_path = f.path();
  std::vector<lockscope::Run> done;
  try {
    run_plan(w, plan, nullptr, nullptr, &done);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitInconclusive);
  }
  EXPECT_EQ(done.size(), 2u);
  EXPECT_EQ(slurp(f.path()), "numa");
}

TEST(Plan, RunPlanStopsOnStopRequestAndRestores) {
  TempFile f("cache\n");
  FakeWorkload w(f.path(), true);
  BenchPlan plan;
  plan.scopes = {"cpu", "smt"};
  plan.runs = 2;
  plan.scope_path = f.path();
  reset_stop();
  try {
    run_plan(
        w, plan,
        [&](const PlanStep& s) {
          if (s.index == 1) request_stop();
        },
        nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitInconclusive);
  }
  reset_stop();
  EXPECT_EQ(w.seen.size(), 2u);
  EXPECT_EQ(slurp(f.path()), "cache");
}

TEST(Plan, ModuleWorkloadRunsOncePerRepetitionFilteredToRequestedScopes) {
  TempFile f("cache\n");
  FakeWorkload w(f.path(), false);
  BenchPlan plan;
  plan.scopes = {"system", "cpu"};
  plan.runs = 2;
  plan.scope_path = f.path();
  auto runs = run_plan(w, plan, nullptr, nullptr);
  EXPECT_EQ(w.seen.size(), 2u);  // one load per repetition
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].scope, "cpu");  // the module's order
  EXPECT_EQ(runs[1].scope, "system");
  EXPECT_EQ(runs[2].repetition, 1u);
  EXPECT_EQ(slurp(f.path()), "cache\n");  // untouched
}

TEST(AffinityScopeGuard, RestoresOnDestruction) {
  TempFile f("cache\n");
  {
    AffinityScopeGuard g(f.path());
    EXPECT_EQ(g.original(), "cache");
    EXPECT_TRUE(g.try_set("system"));
    EXPECT_EQ(g.current(), "system");
  }
  EXPECT_EQ(slurp(f.path()), "cache");
}

TEST(AffinityScopeGuard, MissingFileIsUnsupported) {
  try {
    AffinityScopeGuard g("/nonexistent/default_affinity_scope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUnsupported);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/default_affinity_scope"), std::string::npos);
  }
}

TEST(Summary, MediansPerScopeInFirstSeenOrder) {
  std::vector<lockscope::Run> runs;
  auto add = [&](const char* scope, double ips, double p95) {
    lockscope::Run r;
    r.scope = scope;
    WorkloadResult w;
    w.scope = scope;
    w.items_per_sec = ips;
    w.latency_ns["p95"] = p95;
    r.workload = w;
    runs.push_back(r);
  };
  add("smt", 10, 100);
  add("cpu", 1, 7);
  add("smt", 30, 300);
  add("smt", 20, 900);
  add("cpu", 3, 9);
  auto s = summarize(runs);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].scope, "smt");
  EXPECT_EQ(s[0].runs, 3u);
  EXPECT_DOUBLE_EQ(s[0].items_per_sec, 20);
  EXPECT_DOUBLE_EQ(s[0].latency_ns.at("p95"), 300);
  EXPECT_DOUBLE_EQ(s[1].items_per_sec, 2);  // even count: mean of the middle two
  EXPECT_DOUBLE_EQ(s[1].latency_ns.at("p95"), 8);
}

TEST(Table, GoldenText) {
  ScopeSummary a;
  a.scope = "cpu";
  a.runs = 3;
  a.items_per_sec = 52345.4;
  a.latency_ns = {{"p50", 18100}, {"p90", 20000}, {"p95", 25000.6}, {"p99", 1234567}};
  ScopeSummary b;
  b.scope = "system";
  b.runs = 1;
  b.items_per_sec = 9000;
  b.latency_ns = {{"p50", 100}, {"p90", 200}, {"p95", 300}};
  const std::string want =
      "affinity_scope       items/s    p50 (ns)    p90 (ns)    p95 (ns)    p99 (ns)  runs\n"
      "--------------  ------------  ----------  ----------  ----------  ----------  ----\n"
      "cpu                   52,345      18,100      20,000      25,001   1,234,567     3\n"
      "system                 9,000         100         200         300           -     1\n"
      "(medians over the runs of each scope)\n";
  EXPECT_EQ(render_bench_table({a, b}), want);
  b.runs = 1;
  EXPECT_EQ(render_bench_table({b}).find("medians"), std::string::npos);
}

TEST(TestWorkqueue, ParsesKmsgRecords) {
  // /dev/kmsg records as the kernel hands them out, rows in the module's format.
  const std::string raw =
      "6,1201,4023112,-;test_workqueue: running 4 threads x 5000 items\n"
      "6,1202,4190877,-;test_workqueue:   cpu 61234 items/sec p50=14021 p90=20113 p95=24890 ns\n"
      " SUBSYSTEM=module\n"
      "6,1203,4301877,-;test_workqueue:   cache_shard 9,876 items/sec p50=90211 p90=120000 "
      "p95=150123 ns\n"
      "4,1204,4301999,-;some other driver: p95=1 ns\n";
  std::string text = kmsg_records_to_text(raw);
  EXPECT_EQ(text.find("SUBSYSTEM"), std::string::npos);
  auto rows = parse_test_workqueue(text);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].scope, "cpu");
  EXPECT_DOUBLE_EQ(rows[0].items_per_sec, 61234);
  EXPECT_DOUBLE_EQ(rows[0].p95_ns, 24890);
  EXPECT_EQ(rows[1].scope, "cache_shard");
  EXPECT_DOUBLE_EQ(rows[1].items_per_sec, 9876);
  EXPECT_DOUBLE_EQ(rows[1].p90_ns, 120000);
  auto r = to_workload_result(rows[1], 4, 20000);
  EXPECT_EQ(r.latency_ns.count("p99"), 0u);
  EXPECT_NEAR(r.duration_s, 20000.0 / 9876.0, 1e-9);
}

TEST(TestWorkqueue, MissingExplicitModuleIsUsageErrorNamingThePath) {
  TestWorkqueueOptions o;
  o.module_path = "/nonexistent/dir/test_workqueue.ko";
  try {
    make_test_workqueue_workload(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find(o.module_path), std::string::npos) << e.what();
  }
}
