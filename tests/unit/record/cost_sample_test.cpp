// SPDX-License-Identifier: Apache-2.0
// A run's cost from two hand-made snapshots of kernel BPF stats: the rates,
// the CPU share, the time added per pool->lock hold, lockscope's own counts
// by class, and `unavailable` with the reason wherever a figure cannot be had.
#include "lockscope/record/cost.hpp"

#include <gtest/gtest.h>

#include "lockscope/bpf_shared.h"

namespace lockscope {
namespace {

ProgramStats prog(const std::string& name, const std::string& attach, uint64_t runs, uint64_t ns) {
  return {name, attach, runs, ns, 0};
}

// 2 s on 4 CPUs: two fexit lock programs, one unlock program, sched_waking.
CostSample sample() {
  CostSample s;
  s.window_s = 2.0;
  s.cpus = 4;
  s.before = {prog("ls_lock", "fexit/_raw_spin_lock", 100, 10'000),
              prog("ls_lock_irq", "fexit/_raw_spin_lock_irq", 50, 5'000),
              prog("ls_unlock", "fentry/_raw_spin_unlock", 10, 1'000),
              prog("btf_waking", "tp_btf/sched_waking", 0, 0)};
  s.after = {prog("ls_lock", "fexit/_raw_spin_lock", 1'100, 110'000),          // +1000, 100 ns each
             prog("ls_lock_irq", "fexit/_raw_spin_lock_irq", 3'050, 605'000),  // +3000, 200 ns
             prog("ls_unlock", "fentry/_raw_spin_unlock", 4'010, 241'000),     // +4000, 60 ns
             prog("btf_waking", "tp_btf/sched_waking", 2'000, 1'000'000)};     // +2000, 500 ns
  s.counted_before.assign(LS_RUN_MAX, 7);
  s.counted_after.assign(LS_RUN_MAX, 7);
  s.counted_after[LS_RUN_LOCKED] = 7 + 4'000;
  s.counted_after[LS_RUN_UNLOCK] = 7 + 4'000;
  s.counted_after[LS_RUN_WAKING] = 7 + 1'990;
  s.counted_after[LS_RUN_SWITCH] = 7 + 55;  // no sched_switch program in the sample
  return s;
}

// 1000 holds, lockscope's programs ran 300 ns inside each on average.
Metric hold_metric() {
  Metric m;
  m.hist = Histogram{};
  for (int i = 0; i < 1000; ++i) m.hist->add(2000);
  m.probe_effect = ProbeEffect{300'000, 2'000};
  return m;
}

TEST(CostSample, RatesAndCpuShareFromTheWindow) {
  Metric hold = hold_metric();
  Cost c = cost_from_sample(sample(), &hold);
  ASSERT_TRUE(c.ok) << c.reason;
  EXPECT_EQ(c.source, "kernel BPF stats");
  EXPECT_DOUBLE_EQ(c.window_s, 2.0);
  ASSERT_EQ(c.programs.size(), 4u);
  EXPECT_EQ(c.programs[0].attach, "fexit/_raw_spin_lock");
  EXPECT_EQ(c.programs[0].runs, 1000u);
  EXPECT_EQ(c.programs[0].run_time_ns, 100'000u);
  EXPECT_DOUBLE_EQ(c.programs[0].runs_per_s, 500.0);
  EXPECT_DOUBLE_EQ(*c.programs[0].ns_per_run, 100.0);
  EXPECT_DOUBLE_EQ(*c.programs[3].ns_per_run, 500.0);
  // 10,000 runs in 2 s.
  EXPECT_DOUBLE_EQ(c.hook_runs_per_s, 5'000.0);
  // 100 + 600 + 240 + 1000 µs = 1.94 ms of BPF time in 2 s on 4 CPUs.
  EXPECT_DOUBLE_EQ(c.cpu_fraction, 1'940'000.0 / 2.0 / 4e9);
}

TEST(CostSample, AddedPerHoldWeighsTheLockFunctionsByRuns) {
  Metric hold = hold_metric();
  Cost c = cost_from_sample(sample(), &hold);
  ASSERT_TRUE(c.added_per_hold_ns) << c.hold_reason;
  // (100 µs + 600 µs) / 4000 runs = 175 ns, not the mean of 100 and 200.
  EXPECT_DOUBLE_EQ(c.lock_ns, 175.0);
  EXPECT_DOUBLE_EQ(c.unlock_ns, 60.0);
  EXPECT_DOUBLE_EQ(c.inside_ns, 300.0);
  EXPECT_DOUBLE_EQ(*c.added_per_hold_ns, 535.0);
}

TEST(CostSample, LockscopesOwnCountsByClassOfTheAttachedPrograms) {
  Cost c = cost_from_sample(sample(), nullptr);
  ASSERT_TRUE(c.ok);
  EXPECT_EQ(c.counted_runs.at("locked"), 4000u);
  EXPECT_EQ(c.counted_runs.at("unlock"), 4000u);
  EXPECT_EQ(c.counted_runs.at("waking"), 1990u);
  EXPECT_EQ(c.counted_runs.count("switch"), 0u);  // no program of the class attached
  EXPECT_EQ(c.counted_runs.count("lock_entry"), 0u);
}

TEST(CostSample, ProgramsNewInTheWindowCountFromZero) {
  CostSample s = sample();
  s.after.push_back(prog("btf_switch", "tp_btf/sched_switch", 40, 4000));
  s.after[0].run_cnt = 50;  // below its start: no negative runs
  Cost c = cost_from_sample(s, nullptr);
  ASSERT_EQ(c.programs.size(), 5u);
  EXPECT_EQ(c.programs[4].runs, 40u);
  EXPECT_EQ(c.programs[0].runs, 0u);
  EXPECT_FALSE(c.programs[0].ns_per_run) << "no runs: no ns/run, not 0";
  EXPECT_EQ(c.counted_runs.at("switch"), 55u);
}

TEST(CostSample, NoStatsIsUnavailableWithTheReason) {
  CostSample s = sample();
  s.error = "cannot enable kernel BPF stats: Operation not permitted";
  Cost c = cost_from_sample(s, nullptr);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.reason, s.error);
  EXPECT_TRUE(c.programs.empty());

  s = sample();
  s.window_s = 0;
  EXPECT_FALSE(cost_from_sample(s, nullptr).ok);
  s = sample();
  s.cpus = 0;
  EXPECT_FALSE(cost_from_sample(s, nullptr).ok);
}

// The kernel counted nothing while lockscope's own counters moved: the
// stats were off, and zeros would say lockscope was free.
TEST(CostSample, StatsThatStayedOffAreNotZeros) {
  CostSample s = sample();
  s.after = s.before;
  Cost c = cost_from_sample(s, nullptr);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.reason.find("not on"), std::string::npos) << c.reason;
}

TEST(CostSample, PerHoldUnavailableWithoutHolds) {
  CostSample s = sample();
  Cost c = cost_from_sample(s, nullptr);
  EXPECT_TRUE(c.ok);
  EXPECT_FALSE(c.added_per_hold_ns);
  EXPECT_NE(c.hold_reason.find("no pool->lock hold metric"), std::string::npos) << c.hold_reason;

  Metric refused = Metric::unavailable("needs fentry (EPERM)");
  c = cost_from_sample(s, &refused);
  EXPECT_FALSE(c.added_per_hold_ns);
  EXPECT_EQ(c.hold_reason, "no pool->lock hold was timed (pool_lock_hold_ns is unavailable)");

  Metric none = hold_metric();
  none.hist = Histogram{};
  c = cost_from_sample(s, &none);
  EXPECT_FALSE(c.added_per_hold_ns);
  EXPECT_EQ(c.hold_reason, "no pool->lock hold in the run");

  // The unlock program never ran in the window: its ns/run is unknown.
  s.after[2] = s.before[2];
  s.counted_after[LS_RUN_UNLOCK] = s.counted_before[LS_RUN_UNLOCK];
  Metric hold = hold_metric();
  c = cost_from_sample(s, &hold);
  EXPECT_FALSE(c.added_per_hold_ns);
  EXPECT_NE(c.hold_reason.find("unlock"), std::string::npos) << c.hold_reason;
}

TEST(CostSample, ClassNames) {
  EXPECT_STREQ(run_class_name(LS_RUN_WAKING), "waking");
  EXPECT_STREQ(run_class_name(LS_RUN_SWITCH), "switch");
  EXPECT_STREQ(run_class_name(LS_RUN_MAX), "?");
}

}  // namespace
}  // namespace lockscope
