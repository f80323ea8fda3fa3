// SPDX-License-Identifier: Apache-2.0
#include "lockscope/stats/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lockscope::stats {
namespace {

// Independent reference: enumerate every way of labelling n1 of the pooled
// values as "a", compute U by pairwise comparison (ties count 1/2), and count
// the labellings at least as far from n1*n2/2 as the observed one. This uses
// no ranks and no dynamic programming, unlike the implementation.
double brute_force_p(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  size_t n = pooled.size(), n1 = a.size();
  auto u_of = [&](unsigned mask) {
    double u = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!(mask >> i & 1u)) continue;
      for (size_t j = 0; j < n; ++j) {
        if (mask >> j & 1u) continue;
        u += pooled[i] > pooled[j] ? 1.0 : pooled[i] == pooled[j] ? 0.5 : 0.0;
      }
    }
    return u;
  };
  double center = double(n1) * double(b.size()) / 2.0;
  double obs = std::fabs(u_of((1u << n1) - 1) - center);
  double total = 0, extreme = 0;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (size_t(__builtin_popcount(mask)) != n1) continue;
    total += 1;
    if (std::fabs(u_of(mask) - center) >= obs - 1e-9) extreme += 1;
  }
  return extreme / total;
}

TEST(Median, OddAndEven) {
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(median({})));
}

TEST(MannWhitney, PublishedSmallSampleValues) {
  // Two-sided exact p-values from the null distribution of U (each of the
  // C(n1+n2, n1) rank assignments equally likely): complete separation gives
  // 2 / C(n1+n2, n1). 3 vs 3: 2/20; 4 vs 4: 2/70; 5 vs 5: 2/252 (R:
  // wilcox.test(1:5, 6:10)$p.value == 0.007937).
  EXPECT_DOUBLE_EQ(mann_whitney({1, 2, 3}, {4, 5, 6}).p, 0.1);
  EXPECT_DOUBLE_EQ(mann_whitney({1, 2, 3, 4}, {5, 6, 7, 8}).p, 2.0 / 70.0);
  EXPECT_DOUBLE_EQ(mann_whitney({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}).p, 2.0 / 252.0);
  // 5 vs 5 with U = 2: the number of rank assignments with U = 0, 1, 2 is
  // 1, 1, 2 (standard Mann-Whitney tables), so p = 2 * 4/252.
  MannWhitney r = mann_whitney({1, 2, 3, 4, 7}, {5, 6, 8, 9, 10});
  EXPECT_DOUBLE_EQ(r.u, 2.0);
  EXPECT_TRUE(r.exact);
  EXPECT_NEAR(r.p, 8.0 / 252.0, 1e-12);
  // Symmetric in the sides.
  EXPECT_DOUBLE_EQ(mann_whitney({5, 6, 8, 9, 10}, {1, 2, 3, 4, 7}).p, r.p);
  // U = 3: counts 1, 1, 2, 3 -> p = 2 * 7/252.
  EXPECT_NEAR(mann_whitney({1, 2, 3, 5, 7}, {4, 6, 8, 9, 10}).p, 14.0 / 252.0, 1e-12);
}

TEST(MannWhitney, ExactMatchesBruteForceWithAndWithoutTies) {
  std::vector<std::pair<std::vector<double>, std::vector<double>>> cases = {
      {{1, 2, 3}, {4, 5, 6}},
      {{1.5, 2.5, 9}, {3, 4, 5, 6}},
      {{1, 2, 2, 3}, {2, 3, 3, 4}},  // ties across the sides
      {{5, 5, 5}, {5, 5, 6}},        // heavy ties
      {{10, 12, 11, 15, 14}, {13, 16, 18, 17, 19, 20}},
      {{1, 1, 2, 2, 3, 3, 4}, {2, 3, 3, 4, 4, 5, 5}},
      {{0.31, 0.29, 0.35, 0.30, 0.33, 0.28, 0.32, 0.34},
       {0.36, 0.30, 0.41, 0.38, 0.33, 0.40, 0.37, 0.39}},
  };
  for (const auto& [a, b] : cases) {
    MannWhitney r = mann_whitney(a, b);
    ASSERT_TRUE(r.exact);
    EXPECT_NEAR(r.p, brute_force_p(a, b), 1e-12) << "n1=" << a.size() << " n2=" << b.size();
  }
}

TEST(MannWhitney, AllTiedIsNotEvidence) {
  EXPECT_DOUBLE_EQ(mann_whitney({7, 7, 7}, {7, 7, 7}).p, 1.0);
  EXPECT_DOUBLE_EQ(mann_whitney({}, {1, 2}).p, 1.0);
}

TEST(MannWhitney, NormalApproximationForLargeSamples) {
  std::vector<double> a, b;
  for (int i = 0; i < 25; ++i) {
    a.push_back(i);
    b.push_back(25 + i);
  }
  MannWhitney r = mann_whitney(a, b);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 0.0);
  // Textbook: mean n1 n2 / 2 = 312.5, var n1 n2 (n + 1) / 12 = 2656.25 (no
  // ties), z = (312.5 - 0.5) / sqrt(2656.25) = 6.05368; p = erfc(z / sqrt 2)
  // = 1.41566e-9 (computed with Python's math.erfc).
  EXPECT_NEAR(r.p, 1.41566e-9, 0.00001e-9);
  // Identical samples: no evidence at all.
  EXPECT_NEAR(mann_whitney(a, a).p, 1.0, 1e-12);
  // Ties shrink the variance: 30 zeros and 30 ones vs 30 ones and 30 twos.
  std::vector<double> c(60, 0), d(60, 1);
  for (int i = 30; i < 60; ++i) {
    c[size_t(i)] = 1;
    d[size_t(i)] = 2;
  }
  MannWhitney t = mann_whitney(c, d);
  // U = 450 (30*30 ties of 1 vs 1 at 1/2 each), mean 1800; tie groups of 30,
  // 60, 30 in 120 values: var = 3600/12 * (121 - (2*26970 + 215940)/(120*119))
  // = 30630.2521, z = 1349.5 / 175.0150 = 7.71077, p = 1.25063e-14 (Python's
  // math.erfc).
  EXPECT_DOUBLE_EQ(t.u, 450.0);
  EXPECT_NEAR(t.p, 1.25063e-14, 0.00001e-14);
}

TEST(MannWhitney, ReachableAlpha) {
  EXPECT_DOUBLE_EQ(min_p_value(3, 3), 0.1);
  EXPECT_DOUBLE_EQ(min_p_value(4, 4), 2.0 / 70.0);
  EXPECT_DOUBLE_EQ(min_p_value(1, 5), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(min_p_value(1, 1), 1.0);
  EXPECT_EQ(runs_needed(0.05), 4u);  // 2/70 = 0.029 <= 0.05 < 2/20
  EXPECT_EQ(runs_needed(0.01), 5u);  // 2/252 = 0.0079 <= 0.01 < 2/70
}

TEST(Holm, WorkedExample) {
  // p = (0.01, 0.04, 0.03, 0.005), m = 4. Sorted: 0.005*4 = 0.02,
  // 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04) = 0.06.
  std::vector<double> adj = holm({0.01, 0.04, 0.03, 0.005});
  ASSERT_EQ(adj.size(), 4u);
  EXPECT_NEAR(adj[0], 0.03, 1e-12);
  EXPECT_NEAR(adj[1], 0.06, 1e-12);
  EXPECT_NEAR(adj[2], 0.06, 1e-12);
  EXPECT_NEAR(adj[3], 0.02, 1e-12);
  EXPECT_DOUBLE_EQ(holm({0.6, 0.7})[1], 1.0);  // capped at 1
  EXPECT_TRUE(holm({}).empty());
}

TEST(Rng, SplitMix64ReferenceStream) {
  // First outputs of the reference splitmix64.c (Vigna) from state 0.
  Rng r(0);
  EXPECT_EQ(r.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(r.next(), 0x6e789e6aa1b965f4ULL);
  Rng s(7);
  for (int i = 0; i < 1000; ++i) ASSERT_LT(s.below(3), 3u);
}

TEST(Bootstrap, DeterministicForAFixedSeed) {
  std::vector<double> a = {100, 104, 98, 101, 103}, b = {110, 112, 109, 115, 111};
  Interval x = bootstrap_delta_pct(a, b, 42, 10000);
  Interval y = bootstrap_delta_pct(a, b, 42, 10000);
  ASSERT_TRUE(x.valid);
  EXPECT_EQ(x.lo, y.lo);
  EXPECT_EQ(x.hi, y.hi);
  // The point estimate (median 101 -> 111: +9.90%) lies inside, and the
  // interval is bounded by the extreme ratios of the data.
  EXPECT_LE(x.lo, 100.0 * (111.0 / 101.0 - 1.0));
  EXPECT_GE(x.hi, 100.0 * (111.0 / 101.0 - 1.0));
  EXPECT_GE(x.lo, 100.0 * (109.0 / 104.0 - 1.0));
  EXPECT_LE(x.hi, 100.0 * (115.0 / 98.0 - 1.0));
  // With many distinct values, another seed gives another interval.
  std::vector<double> c1, c2;
  for (int i = 0; i < 30; ++i) {
    c1.push_back(1000 + 37 * ((i * 7919) % 31));
    c2.push_back(1100 + 41 * ((i * 104729) % 29));
  }
  Interval s1 = bootstrap_delta_pct(c1, c2, 42, 2000), s2 = bootstrap_delta_pct(c1, c2, 43, 2000);
  EXPECT_TRUE(s1.lo != s2.lo || s1.hi != s2.hi);
  // Identical constant samples: no uncertainty.
  Interval k = bootstrap_delta_pct({5, 5, 5}, {5, 5, 5}, 1, 1000);
  EXPECT_EQ(k.lo, 0.0);
  EXPECT_EQ(k.hi, 0.0);
  // A zero baseline makes the relative change undefined.
  EXPECT_FALSE(bootstrap_delta_pct({0, 0, 0}, {1, 2, 3}, 1, 1000).valid);
}

TEST(MedianCi, OrderStatistics) {
  // Coverage of [min, max] for n values: 1 - 2 * 0.5^n; n = 5: 0.9375 < 0.95,
  // n = 6: 0.96875.
  EXPECT_EQ(median_ci_min_runs(0.95), 6u);
  EXPECT_FALSE(median_ci({1, 2, 3, 4, 5}, 0.95).valid);
  Interval six = median_ci({6, 1, 5, 2, 4, 3}, 0.95);
  ASSERT_TRUE(six.valid);
  EXPECT_EQ(six.lo, 1);
  EXPECT_EQ(six.hi, 6);
  // n = 10: [x(2), x(9)] covers 1 - 2 * 11/1024 = 0.9785; [x(3), x(8)] only
  // 1 - 2 * 56/1024 = 0.8906.
  Interval ten = median_ci({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.95);
  ASSERT_TRUE(ten.valid);
  EXPECT_EQ(ten.lo, 2);
  EXPECT_EQ(ten.hi, 9);
}

TEST(DeltaPct, Definition) {
  EXPECT_NEAR(delta_pct(341913, 401213), 17.343, 0.001);  // the seed's cache_shard row: +17.3%
  EXPECT_TRUE(std::isnan(delta_pct(0, 5)));
}

}  // namespace
}  // namespace lockscope::stats
