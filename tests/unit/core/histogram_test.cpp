// SPDX-License-Identifier: Apache-2.0
#include "lockscope/core/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "lockscope/bpf_shared.h"

namespace lockscope {
namespace {

TEST(Histogram, SmallValuesAreExact) {
  for (uint64_t v = 0; v < 64; ++v) {
    EXPECT_EQ(Histogram::index_of(v), v);
    EXPECT_EQ(Histogram::lower_bound(uint32_t(v)), v);
    EXPECT_EQ(Histogram::width(uint32_t(v)), 1u);
  }
}

TEST(Histogram, IndexBoundsRoundTrip) {
  // Every bucket's lower bound maps back to it, and so does its last value.
  for (uint32_t i = 0; i < Histogram::kBuckets; ++i) {
    uint64_t lo = Histogram::lower_bound(i);
    uint64_t hi = lo + Histogram::width(i) - 1;
    ASSERT_EQ(Histogram::index_of(lo), i) << "bucket " << i;
    ASSERT_EQ(Histogram::index_of(hi), i) << "bucket " << i;
    if (i + 1 < Histogram::kBuckets) {
      ASSERT_EQ(Histogram::lower_bound(i + 1), hi + 1);
    }
  }
}

TEST(Histogram, RelativeWidthAtMostOneThirtySecond) {
  for (uint32_t i = 2 * Histogram::kSub; i < Histogram::kBuckets; ++i)
    ASSERT_LE(double(Histogram::width(i)) / double(Histogram::lower_bound(i)), 1.0 / 32.0);
}

TEST(Histogram, KnownIndices) {
  EXPECT_EQ(Histogram::index_of(64), 64u);
  EXPECT_EQ(Histogram::index_of(65), 64u);
  EXPECT_EQ(Histogram::index_of(66), 65u);
  EXPECT_EQ(Histogram::index_of(1000), 4u * 32 + (1000 >> 4));  // msb 9, shift 4
  EXPECT_EQ(Histogram::index_of(~0ull), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::kBuckets, uint32_t(LS_HIST_BUCKETS));
}

TEST(Histogram, SummaryIsExact) {
  Histogram h;
  for (uint64_t v : {5u, 1000u, 123456u, 7u}) h.add(v);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.sum(), 5u + 1000u + 123456u + 7u);
  EXPECT_EQ(h.min(), 5u);
  EXPECT_EQ(h.max(), 123456u);
}

TEST(Histogram, MergeEqualsAddingAll) {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 5000; v += 7) {
    (v % 2 ? a : b).add(v * 13);
    all.add(v * 13);
  }
  a.merge(b);
  EXPECT_EQ(a, all);
}

TEST(Histogram, MergeBpfSumsPerCpuCopies) {
  static ls_hist cpu0{}, cpu1{};
  cpu0.count = 2;
  cpu0.sum = 300;
  cpu0.min = 100;
  cpu0.max = 200;
  cpu0.buckets[Histogram::index_of(100)] = 1;
  cpu0.buckets[Histogram::index_of(200)] = 1;
  cpu1.count = 1;
  cpu1.sum = 50;
  cpu1.min = 50;
  cpu1.max = 50;
  cpu1.buckets[Histogram::index_of(50)] = 1;
  Histogram h;
  h.merge_bpf(cpu0);
  h.merge_bpf(cpu1);
  Histogram want;
  for (uint64_t v : {100u, 200u, 50u}) want.add(v);
  EXPECT_EQ(h, want);
}

TEST(Histogram, PercentileWithinErrorBound) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(8.0, 1.5);
  std::vector<uint64_t> vals;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = uint64_t(dist(rng)) + 1;
    vals.push_back(v);
    h.add(v);
  }
  std::sort(vals.begin(), vals.end());
  for (double p : {50.0, 90.0, 95.0, 99.0, 99.9}) {
    size_t rank = size_t(std::ceil(p / 100.0 * double(vals.size())));
    double truth = double(vals[rank - 1]);
    auto q = h.quantile(p / 100.0);
    EXPECT_LE(std::abs(q.value - truth), q.error_bound + 0.5) << "p" << p;
    EXPECT_LE(q.error_bound / truth, 1.0 / 64.0 + 1e-9) << "p" << p;  // half of 1/32
  }
}

TEST(Histogram, EmptyAndExtremes) {
  Histogram h;
  EXPECT_EQ(h.quantile(0.5).value, 0.0);
  h.add(77);
  EXPECT_EQ(h.percentile(0), 77.0);
  EXPECT_EQ(h.percentile(100), 77.0);
  EXPECT_EQ(h.percentile(50), 77.0);
}

// A copy read while a program was adding to it (bucket done, count not yet):
// what user space builds still adds up, so the profile it writes loads.
TEST(Histogram, TornBpfCopyStillAddsUp) {
  ls_hist torn{};
  uint32_t a = Histogram::index_of(100), b = Histogram::index_of(5000);
  torn.buckets[a] = 3;
  torn.buckets[b] = 1;  // the fourth value's bucket is in, its count, sum and max not yet
  torn.count = 3;
  torn.sum = 300;
  torn.min = 100;
  torn.max = 100;
  Histogram h;
  h.merge_bpf(torn);
  EXPECT_EQ(h.count(), 4u);
  uint64_t in_buckets = 0;
  for (const auto& [idx, n] : h.buckets()) in_buckets += n;
  EXPECT_EQ(in_buckets, h.count());
  EXPECT_GE(h.max(), Histogram::lower_bound(b));
  ls_hist first{};  // the very first value: only its bucket is in
  first.buckets[a] = 1;
  Histogram g;
  g.merge_bpf(first);
  EXPECT_EQ(g.count(), 1u);
  EXPECT_LE(g.min(), 100u);
  EXPECT_GE(g.max(), 100u);
}

// Values of 2^40 ns and above share the last bucket: a percentile that lands
// there is somewhere between that bucket's start and the maximum, and its
// error bound must say so (it used the bucket's nominal width: a true p95 of
// 1.60e12 came out as 1.09e12 +- 8.6e9).
TEST(Histogram, ClampedBucketBoundCoversTheTruth) {
  Histogram h;
  for (int i = 0; i < 94; ++i) h.add(1000);
  for (uint64_t v : {uint64_t(1.2e12), uint64_t(1.6e12), uint64_t(1.6e12), uint64_t(1.8e12),
                     uint64_t(2.0e12), uint64_t(2.2e12)})
    h.add(v);
  EXPECT_EQ(h.clamped(), 6u);
  auto q = h.quantile(0.95);  // rank 95: the first clamped value, 1.2e12
  EXPECT_LE(std::abs(q.value - 1.2e12), q.error_bound) << q.value << " +- " << q.error_bound;
  auto q97 = h.quantile(0.97);  // rank 97: 1.6e12
  EXPECT_LE(std::abs(q97.value - 1.6e12), q97.error_bound);
  EXPECT_LE(q97.value + q97.error_bound, 2.2e12);  // never beyond the maximum
}

}  // namespace
}  // namespace lockscope
