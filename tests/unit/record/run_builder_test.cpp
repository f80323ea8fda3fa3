// SPDX-License-Identifier: Apache-2.0
// From a snapshot of the maps to a profile run: built here from hand-made
// snapshots, no kernel needed.
#include "lockscope/record/run_builder.hpp"

#include <gtest/gtest.h>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/metrics.hpp"

namespace lockscope {
namespace {

std::map<std::string, Availability> all_available() {
  std::map<std::string, Availability> a;
  for (const auto& m : metric_catalogue()) a[m.name] = {true, ""};
  return a;
}

Histogram of(std::initializer_list<uint64_t> values) {
  Histogram h;
  for (uint64_t v : values) h.add(v);
  return h;
}

// Symbols: 0x1000 __queue_work, 0x2000 worker_thread, 0x3000 flush_to_ldisc.
Symbolizer syms() {
  return Symbolizer::from_entries(
      {{0x1000, "__queue_work"}, {0x2000, "worker_thread"}, {0x3000, "flush_to_ldisc"}});
}

TEST(RunBuilder, EveryCatalogueMetricIsMeasuredOrUnavailable) {
  auto a = all_available();
  a[metric::kPoolLockHold] = {false, "needs fentry (EPERM)"};
  lockscope::Run r = build_run(Snapshot::zeroed(), a, syms());
  for (const auto& m : metric_catalogue()) ASSERT_EQ(r.metrics.count(m.name), 1u) << m.name;
  EXPECT_FALSE(r.metrics.at(metric::kPoolLockHold).ok());
  EXPECT_EQ(r.metrics.at(metric::kPoolLockHold).reason, "needs fentry (EPERM)");
  EXPECT_TRUE(r.metrics.at(metric::kKworkerWakeups).ok());
}

TEST(RunBuilder, PoolKindsMergeAndSitesAreNamed) {
  Snapshot s = Snapshot::zeroed();
  s.hists[LS_M_POOL_HOLD * LS_KIND_MAX + LS_KIND_POOL_PERCPU] = of({100, 200});
  s.hists[LS_M_POOL_HOLD * LS_KIND_MAX + LS_KIND_POOL_UNBOUND] = of({5000});
  s.site_hists.push_back({LS_M_POOL_HOLD, LS_KIND_POOL_UNBOUND, 0x1010, of({5000})});
  s.site_hists.push_back({LS_M_POOL_HOLD, LS_KIND_POOL_PERCPU, 0x2020, of({100, 200})});
  lockscope::Run r = build_run(s, all_available(), syms());
  const Metric& hold = r.metrics.at(metric::kPoolLockHold);
  ASSERT_TRUE(hold.hist);
  EXPECT_EQ(hold.hist->count(), 3u);
  EXPECT_EQ(*hold.count, 3u);
  EXPECT_EQ(hold.by_kind.size(), 2u);
  EXPECT_EQ(hold.by_kind.at("unbound").count(), 1u);
  ASSERT_EQ(hold.by_site.size(), 2u);
  EXPECT_EQ(hold.by_site[0].site, "__queue_work");  // most total time first
  EXPECT_EQ(hold.by_site[0].kind, "unbound");
  EXPECT_EQ(hold.by_site[1].site, "worker_thread");
}

TEST(RunBuilder, WaitsArePerCallerSortedByTotalWait) {
  Snapshot s = Snapshot::zeroed();
  s.hists[LS_M_POOL_WAIT * LS_KIND_MAX + LS_KIND_POOL_PERCPU] = of({300, 400, 9000});
  s.site_hists.push_back({LS_M_POOL_WAIT, LS_KIND_POOL_PERCPU, 0x2020, of({300, 400})});
  s.site_hists.push_back({LS_M_POOL_WAIT, LS_KIND_POOL_PERCPU, 0x1010, of({9000})});
  s.counters[LS_C_RQS_LEARNED] = 1;
  s.hists[LS_M_RQ_WAIT * LS_KIND_MAX + LS_KIND_RQ] = of({50});
  s.site_hists.push_back({LS_M_RQ_WAIT, LS_KIND_RQ, 0x2030, of({50})});
  lockscope::Run r = build_run(s, all_available(), syms());
  const Metric& w = r.metrics.at(metric::kPoolLockWait);
  ASSERT_EQ(w.by_site.size(), 2u);
  EXPECT_EQ(w.by_site[0].site, "__queue_work");  // one long wait: the most total wait
  EXPECT_EQ(w.by_site[0].kind, "percpu");
  EXPECT_EQ(w.by_site[1].site, "worker_thread");
  EXPECT_EQ(w.by_site[1].count, 2u);
  uint64_t n = 0;
  for (const auto& e : w.by_site) n += e.count;
  EXPECT_EQ(n, *w.count);
  const Metric& rq = r.metrics.at(metric::kRqLockWait);
  ASSERT_EQ(rq.by_site.size(), 1u);
  EXPECT_EQ(rq.by_site[0].site, "worker_thread");
  EXPECT_EQ(rq.by_site[0].kind, "");
}

// --stacks names holds and waits by the acquirer's address too (a stack's
// first frame is the same function); a stack id, below 2^32, names a hold
// whose address could not be read.
TEST(RunBuilder, StacksModeNamesHoldsByAddressOrStack) {
  const uint64_t text = 0xffffffff81000000;
  Symbolizer ks = Symbolizer::from_entries(
      {{0x1000, "_raw_spin_lock_irq"}, {0x2000, "process_one_work"}, {text, "__queue_work"}});
  Snapshot s = Snapshot::zeroed();
  s.stack_sites = true;
  s.hists[LS_M_POOL_HOLD * LS_KIND_MAX + LS_KIND_POOL_PERCPU] = of({100, 200, 300});
  s.site_hists.push_back({LS_M_POOL_HOLD, LS_KIND_POOL_PERCPU, text + 0x40, of({100, 200})});
  s.site_hists.push_back({LS_M_POOL_HOLD, LS_KIND_POOL_PERCPU, 7, of({300})});
  s.stacks[7] = {0x1010, 0x2010};
  s.counters[LS_C_RQS_LEARNED] = 1;
  s.hists[LS_M_RQ_WAIT * LS_KIND_MAX + LS_KIND_RQ] = of({50});
  s.site_hists.push_back({LS_M_RQ_WAIT, LS_KIND_RQ, text + 0x80, of({50})});
  lockscope::Run r = build_run(s, all_available(), ks);
  const Metric& hold = r.metrics.at(metric::kPoolLockHold);
  ASSERT_EQ(hold.by_site.size(), 2u);
  EXPECT_EQ(hold.by_site[0].site, "__queue_work");
  EXPECT_EQ(hold.by_site[1].site, "process_one_work");  // the stack, past the lock function
  const Metric& rq = r.metrics.at(metric::kRqLockWait);
  ASSERT_EQ(rq.by_site.size(), 1u);
  EXPECT_EQ(rq.by_site[0].site, "__queue_work");
}

// --stacks files a hold's wakeups and rq->lock acquisitions under the stack
// its pool->lock was released from, after the workqueue function seen in the
// hold; a release that was missed (-1) has no stack.
TEST(RunBuilder, StacksModeNamesWakeupsByContextAndReleaseStack) {
  Symbolizer ks = Symbolizer::from_entries({{0x1000, "_raw_spin_unlock_irqrestore"},
                                            {0x2000, "__queue_work"},
                                            {0x3000, "queue_work_on"},
                                            {0x4000, "tty_flip_buffer_push"}});
  Snapshot s = Snapshot::zeroed();
  s.stack_sites = true;
  s.counters[LS_C_WAKEUPS] = 9;
  s.counters[LS_C_WAKEUPS_UNDER_POOL] = 6;
  s.counters[LS_C_RQ_UNDER_POOL] = 5;
  s.counters[LS_C_RQS_LEARNED] = 1;
  s.stacks[3] = {0x1010, 0x2010, 0x3010, 0x4010};
  s.site_counts.push_back({LS_SC_WAKEUP_UNDER_POOL, LS_CTX_KICK_POOL, 3, 5});
  s.site_counts.push_back({LS_SC_WAKEUP_UNDER_POOL, LS_CTX_NONE, uint64_t(-1), 1});
  s.site_counts.push_back({LS_SC_RQ_UNDER_POOL, LS_CTX_KICK_POOL, 3, 5});
  lockscope::Run r = build_run(s, all_available(), ks);
  const Metric& w = r.metrics.at(metric::kWakeupsUnderPoolLock);
  ASSERT_EQ(w.by_site.size(), 2u);
  EXPECT_EQ(w.by_site[0].site, "kick_pool <- __queue_work <- queue_work_on");
  EXPECT_EQ(w.by_site[0].count, 5u);
  EXPECT_EQ(w.by_site[1].site, "pool->lock from [stack lost]");
  const Metric& rq = r.metrics.at(metric::kRqLockNested);
  ASSERT_EQ(rq.by_site.size(), 1u);
  EXPECT_EQ(rq.by_site[0].site, "kick_pool <- __queue_work <- queue_work_on");
}

TEST(RunBuilder, WakeupSitesNameTheContextAndTheAcquirer) {
  Snapshot s = Snapshot::zeroed();
  s.counters[LS_C_WAKEUPS] = 10;
  s.counters[LS_C_WAKEUPS_UNDER_POOL] = 4;
  s.site_counts.push_back({LS_SC_WAKEUP_UNDER_POOL, LS_CTX_KICK_POOL, 0x1010, 3});
  s.site_counts.push_back({LS_SC_WAKEUP_UNDER_POOL, LS_CTX_NONE, 0x2010, 1});
  lockscope::Run r = build_run(s, all_available(), syms());
  const Metric& w = r.metrics.at(metric::kWakeupsUnderPoolLock);
  EXPECT_EQ(*w.count, 4u);
  EXPECT_EQ(*w.total, 10u);
  ASSERT_EQ(w.by_site.size(), 2u);
  EXPECT_EQ(w.by_site[0].site, "kick_pool <- __queue_work");
  EXPECT_EQ(w.by_site[0].count, 3u);
  EXPECT_EQ(w.by_site[1].site, "pool->lock from worker_thread");
}

TEST(RunBuilder, CountersAndDropsByName) {
  Snapshot s = Snapshot::zeroed();
  s.counters[LS_C_KICK_POOL] = 7;
  s.counters[LS_D_UNPAIRED] = 2;
  s.hook_events = 1000;
  lockscope::Run r = build_run(s, all_available(), syms());
  EXPECT_EQ(r.counters.at("kick_pool"), 7u);
  EXPECT_EQ(r.counters.at("hook_events"), 1000u);
  EXPECT_EQ(r.drops.at("unpaired_pool_unlock"), 2u);
  EXPECT_EQ(r.counters.count("unpaired_pool_unlock"), 0u);
  EXPECT_EQ(r.total_drops(), 2u);
}

TEST(RunBuilder, CounterNamesAreUnique) {
  std::set<std::string> names;
  for (uint32_t i = 0; i < LS_C_MAX; ++i) EXPECT_TRUE(names.insert(counter_name(i)).second) << i;
  EXPECT_FALSE(counter_is_drop(LS_C_WAKEUPS));
  EXPECT_TRUE(counter_is_drop(LS_D_FILTER_FULL));
  EXPECT_EQ(LS_FIRST_DROP, LS_D_FILTER_FULL);
}

TEST(RunBuilder, WorkFunctionsCarryTheirWorkqueue) {
  Snapshot s = Snapshot::zeroed();
  s.hists[LS_M_WQ_QUEUE_LAT * LS_KIND_MAX] = of({1000, 3000});
  s.site_hists.push_back({LS_M_WQ_QUEUE_LAT, LS_KIND_POOL_UNBOUND, 0x3000, of({1000, 3000})});
  s.func_wq[0x3000] = "events_unbound";
  lockscope::Run r = build_run(s, all_available(), syms());
  const Metric& q = r.metrics.at(metric::kWqQueueLatency);
  EXPECT_EQ(*q.count, 2u);
  ASSERT_EQ(q.by_site.size(), 1u);
  EXPECT_EQ(q.by_site[0].site, "flush_to_ldisc");
  EXPECT_EQ(q.by_site[0].detail, "events_unbound");
}

}  // namespace
}  // namespace lockscope
