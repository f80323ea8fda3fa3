// SPDX-License-Identifier: Apache-2.0
// The metric catalogue: one table every reader uses.
#include "lockscope/core/metrics.hpp"

#include <gtest/gtest.h>

#include <set>

namespace lockscope {
namespace {

TEST(MetricCatalogue, NamesAreUniqueAndDescribed) {
  std::set<std::string> names;
  for (const auto& m : metric_catalogue()) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name;
    EXPECT_FALSE(std::string(m.description).empty()) << m.name;
    EXPECT_FALSE(std::string(m.needs_text).empty()) << m.name;
    EXPECT_NE(m.needs[0], 0u) << m.name << " needs nothing?";
    EXPECT_EQ(find_metric(m.name), &m);
    EXPECT_EQ(metric_description(m.name), m.description);
  }
  // kworker_wakeups was missing from every list but the run builder's.
  EXPECT_NE(find_metric(metric::kKworkerWakeups), nullptr);
  EXPECT_EQ(find_metric("no_such_metric"), nullptr);
  EXPECT_EQ(metric_description("no_such_metric"), "");
}

TEST(MetricCatalogue, OrderIsTheCatalogueThenTheRestByName) {
  std::vector<std::string> got =
      metric_order({"zz_other", metric::kWqExec, "aa_other", metric::kKworkerWakeups,
                    metric::kPoolLockHold, metric::kWqExec});
  std::vector<std::string> want = {metric::kPoolLockHold, metric::kWqExec, metric::kKworkerWakeups,
                                   "aa_other", "zz_other"};
  EXPECT_EQ(got, want);
}

TEST(MetricCatalogue, StatisticsByKind) {
  std::vector<std::string> time = metric_statistics(*find_metric(metric::kPoolLockHold));
  EXPECT_EQ(time,
            (std::vector<std::string>{"p50", "p90", "p95", "p99", "mean", "min", "max", "count"}));
  std::vector<std::string> share = metric_statistics(*find_metric(metric::kWakeupsUnderPoolLock));
  EXPECT_EQ(share, (std::vector<std::string>{"count", "share"}));
}

TEST(MetricCatalogue, AvailabilityNeedsEverySourceOfOneAlternative) {
  const MetricInfo& rq = *find_metric(metric::kRqLockNested);
  EXPECT_FALSE(metric_satisfied(rq, kSrcLockHooks));
  EXPECT_FALSE(metric_satisfied(rq, kSrcRqLocks));
  EXPECT_TRUE(metric_satisfied(rq, kSrcLockHooks | kSrcRqLocks));
  EXPECT_TRUE(metric_satisfied(rq, kSrcLockHooks | kSrcRqLocks | kSrcContention));
  EXPECT_FALSE(metric_satisfied(rq, 0));
}

}  // namespace
}  // namespace lockscope
