// SPDX-License-Identifier: Apache-2.0
// The interval view of `record -i`: the difference of two snapshots.
#include "lockscope/record/snapshot.hpp"

#include <gtest/gtest.h>

#include "lockscope/bpf_shared.h"
#include "lockscope/core/profile.hpp"

namespace lockscope {
namespace {

TEST(SnapshotDelta, SiteCountsSubtractPerContext) {
  Snapshot before = Snapshot::zeroed(), now = Snapshot::zeroed();
  // One site, two contexts: only the kick_pool context grew.
  before.site_counts = {{LS_SC_WAKEUP_UNDER_POOL, LS_CTX_KICK_POOL, 0x10, 5},
                        {LS_SC_WAKEUP_UNDER_POOL, LS_CTX_NONE, 0x10, 7}};
  now.site_counts = {{LS_SC_WAKEUP_UNDER_POOL, LS_CTX_KICK_POOL, 0x10, 9},
                     {LS_SC_WAKEUP_UNDER_POOL, LS_CTX_NONE, 0x10, 7}};
  Snapshot d = snapshot_delta(now, before);
  ASSERT_EQ(d.site_counts.size(), 2u);
  EXPECT_EQ(d.site_counts[0].count, 4u);
  EXPECT_EQ(d.site_counts[1].count, 0u);
}

TEST(SnapshotDelta, HistogramSumIsExactAndBoundsStayInside) {
  Snapshot before = Snapshot::zeroed(), now = Snapshot::zeroed();
  Histogram& b = before.hists[LS_M_POOL_HOLD * LS_KIND_MAX + LS_KIND_POOL_PERCPU];
  Histogram& n = now.hists[LS_M_POOL_HOLD * LS_KIND_MAX + LS_KIND_POOL_PERCPU];
  for (uint64_t v : {100, 5000}) b.add(v);
  for (uint64_t v : {100, 5000, 1203, 2000}) n.add(v);
  Snapshot d = snapshot_delta(now, before);
  const Histogram& h = d.hists[LS_M_POOL_HOLD * LS_KIND_MAX + LS_KIND_POOL_PERCPU];
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.sum(), 1203u + 2000u);  // exact, not bucket bounds
  EXPECT_LE(h.min(), 1203u);
  EXPECT_GE(h.min(), Histogram::lower_bound(Histogram::index_of(1203)));
  EXPECT_GE(h.max(), 2000u);
  EXPECT_LE(h.max(), 5000u);
  // The interval is a valid histogram: a profile holding it reads back.
  Profile p = new_host_profile();
  lockscope::Run r;
  Metric m;
  m.hist = h;
  r.metrics["pool_lock_hold_ns"] = m;
  p.runs.push_back(r);
  Profile back = profile_from_json(profile_to_json(p));
  EXPECT_EQ(*back.runs[0].metrics.at("pool_lock_hold_ns").hist, h);
}

TEST(SnapshotDelta, CountersNeverGoNegative) {
  Snapshot before = Snapshot::zeroed(), now = Snapshot::zeroed();
  before.counters[LS_C_WAKEUPS] = 10;
  now.counters[LS_C_WAKEUPS] = 4;  // a reset between the snapshots
  now.hook_events = 3;
  before.hook_events = 8;
  Snapshot d = snapshot_delta(now, before);
  EXPECT_EQ(d.counters[LS_C_WAKEUPS], 0u);
  EXPECT_EQ(d.hook_events, 0u);
}

// The rq locks are learned within moments of attaching: an interval after
// that still has them (a level), or its rq metrics would read "unavailable".
TEST(SnapshotDelta, LearnedLocksAreALevelNotEvents) {
  Snapshot before = Snapshot::zeroed(), now = Snapshot::zeroed();
  before.counters[LS_C_RQS_LEARNED] = now.counters[LS_C_RQS_LEARNED] = 4;
  before.counters[LS_C_POOLS_LEARNED] = 3;
  now.counters[LS_C_POOLS_LEARNED] = 5;
  before.counters[LS_C_WAKEUPS] = 10;
  now.counters[LS_C_WAKEUPS] = 25;
  Snapshot d = snapshot_delta(now, before);
  EXPECT_EQ(d.counters[LS_C_RQS_LEARNED], 4u);
  EXPECT_EQ(d.counters[LS_C_POOLS_LEARNED], 5u);
  EXPECT_EQ(d.counters[LS_C_WAKEUPS], 15u);
}

}  // namespace
}  // namespace lockscope
