// SPDX-License-Identifier: Apache-2.0
#include "lockscope/stats/stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

TEST(MannWhitney, LargeSamplesWithoutTiesStayExact) {
  std::vector<double> a, b;
  for (int i = 0; i < 25; ++i) {
    a.push_back(i);
    b.push_back(25 + i);
  }
  MannWhitney r = mann_whitney(a, b);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 0.0);
  // Complete separation of 25 vs 25: 1 of C(50, 25) = 126410606437752 arrangements.
  EXPECT_NEAR(r.p_less, 1.0 / 126410606437752.0, 1e-27);
  EXPECT_NEAR(r.p, 2.0 / 126410606437752.0, 1e-27);
  EXPECT_DOUBLE_EQ(r.p_greater, 1.0);
  EXPECT_NEAR(mann_whitney(a, a).p, 1.0, 1e-12);
}

TEST(MannWhitney, NormalApproximationWithTies) {
  // Ties shrink the variance: 30 zeros and 30 ones vs 30 ones and 30 twos.
  std::vector<double> c(60, 0), d(60, 1);
  for (int i = 30; i < 60; ++i) {
    c[size_t(i)] = 1;
    d[size_t(i)] = 2;
  }
  MannWhitney t = mann_whitney(c, d);
  EXPECT_FALSE(t.exact);
  // U = 450 (30*30 ties of 1 vs 1 at 1/2 each), mean 1800; tie groups of 30,
  // 60, 30 in 120 values: var = 3600/12 * (121 - (2*26970 + 215940)/(120*119))
  // = 30630.2521, z = 1349.5 / 175.0150 = 7.71077, p = 1.25063e-14 (Python's
  // math.erfc); one-sided P(U <= 450) is half of it, P(U >= 450) about 1.
  EXPECT_DOUBLE_EQ(t.u, 450.0);
  EXPECT_NEAR(t.p, 1.25063e-14, 0.00001e-14);
  EXPECT_NEAR(t.p_less, 0.625315e-14, 0.00001e-14);
  EXPECT_NEAR(t.p_greater, 1.0, 1e-12);
}

// Independent reference for the one-sided tails: every labelling of n1 of
// the pooled values as "a", U by pairwise comparison (ties 1/2).
std::pair<double, double> brute_force_tails(const std::vector<double>& a,
                                            const std::vector<double>& b) {
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  size_t n = pooled.size(), n1 = a.size();
  auto u_of = [&](unsigned mask) {
    double u = 0;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j)
        if ((mask >> i & 1u) && !(mask >> j & 1u))
          u += pooled[i] > pooled[j] ? 1.0 : pooled[i] == pooled[j] ? 0.5 : 0.0;
    return u;
  };
  double obs = u_of((1u << n1) - 1), total = 0, ge = 0, le = 0;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (size_t(__builtin_popcount(mask)) != n1) continue;
    double u = u_of(mask);
    total += 1;
    ge += u >= obs - 1e-9;
    le += u <= obs + 1e-9;
  }
  return {ge / total, le / total};
}

TEST(MannWhitney, OneSidedExactMatchesBruteForceWithAndWithoutTies) {
  std::vector<std::pair<std::vector<double>, std::vector<double>>> cases = {
      {{4, 5, 6}, {1, 2, 3}},
      {{1.5, 2.5, 9}, {3, 4, 5, 6}},
      {{1, 2, 2, 3}, {2, 3, 3, 4}},
      {{5, 5, 5}, {5, 5, 6}},
      {{10, 12, 11, 15, 14}, {13, 16, 18, 17, 19, 20}},
      {{1, 1, 2, 2, 3, 3, 4}, {2, 3, 3, 4, 4, 5, 5}},
      {{0.5, 0.7, 0.1, 0.9, 0.3, 0.35, 0.8}, {0.2, 0.6, 0.4, 0.95, 0.05, 0.45, 0.65}},
  };
  for (const auto& [a, b] : cases) {
    MannWhitney r = mann_whitney(a, b);
    auto [ge, le] = brute_force_tails(a, b);
    ASSERT_TRUE(r.exact);
    EXPECT_NEAR(r.p_greater, ge, 1e-12) << "n1=" << a.size() << " n2=" << b.size();
    EXPECT_NEAR(r.p_less, le, 1e-12) << "n1=" << a.size() << " n2=" << b.size();
  }
}

TEST(MannWhitney, NullDistributionOfUMatchesEnumeration) {
  for (size_t n1 = 1; n1 <= 6; ++n1)
    for (size_t n2 = 1; n2 <= 7; ++n2) {
      size_t n = n1 + n2;
      std::vector<double> count(n1 * n2 + 1, 0);
      double total = 0;
      for (unsigned mask = 0; mask < (1u << n); ++mask) {
        if (size_t(__builtin_popcount(mask)) != n1) continue;
        size_t u = 0;  // pairs (a above b): a at position i, b at j < i
        for (size_t i = 0; i < n; ++i)
          for (size_t j = 0; j < i; ++j) u += (mask >> i & 1u) && !(mask >> j & 1u);
        count[u] += 1;
        total += 1;
      }
      double cum = 0;
      for (size_t k = 0; k < count.size(); ++k) {
        cum += count[k];
        ASSERT_NEAR(u_cdf(n1, n2, long(k)), cum / total, 1e-12) << n1 << " " << n2 << " " << k;
      }
    }
  EXPECT_EQ(u_cdf(3, 3, -1), 0.0);
}

TEST(MannWhitney, ReachableAlpha) {
  // One-sided: 1 / C(n1 + n2, n1); 3 vs 3 reach exactly 0.05 (rejected at p <= alpha).
  EXPECT_DOUBLE_EQ(min_p_one_sided(3, 3), 0.05);
  EXPECT_DOUBLE_EQ(min_p_one_sided(2, 10), 1.0 / 66.0);
  EXPECT_EQ(runs_needed_one_sided(0.05), 3u);
  EXPECT_EQ(runs_needed_one_sided(0.01), 5u);  // 1/70 > 0.01 >= 1/252
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

// Lognormal runs with a known log shift, drawn with the library's Rng.
std::vector<double> lognormal(Rng& rng, size_t n, double shift, double sigma) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) {
    double u1 = (double(rng.next() >> 11) + 0.5) * 0x1.0p-53;
    double u2 = double(rng.next() >> 11) * 0x1.0p-53;
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    v.push_back(std::exp(shift + sigma * z));
  }
  return v;
}

TEST(HodgesLehmann, EstimateIsTheMedianOfPairwiseLogRatios) {
  std::vector<double> a = {100, 104, 98}, b = {110, 112, 109, 115};
  std::vector<double> d;
  for (double x : a)
    for (double y : b) d.push_back(std::log(y / x));
  std::sort(d.begin(), d.end());  // 12 values: the median is the mean of the 6th and 7th
  Shift s = hodges_lehmann_log(a, b, 0.05);
  EXPECT_NEAR(s.estimate, (d[5] + d[6]) / 2, 1e-12);
  // 3 vs 4 at 0.05: P(U <= 1) = 2/35 > 0.05 >= P(U <= 0) = 1/35, so k = 1:
  // [d(1), d(12)], two-sided level 1 - 2/35.
  ASSERT_TRUE(s.ci.valid);
  EXPECT_NEAR(s.ci.lo, d.front(), 1e-12);
  EXPECT_NEAR(s.ci.hi, d.back(), 1e-12);
  EXPECT_NEAR(s.ci.level, 1 - 2.0 / 35.0, 1e-12);
  // 2 vs 2 cannot give a one-sided 95% bound (P(U <= 0) = 1/6).
  EXPECT_FALSE(hodges_lehmann_log({1, 2}, {3, 4}, 0.05).ci.valid);
  // A zero candidate run is a ratio of 0: log -inf, a change of -100%.
  EXPECT_EQ(log_ratio_pct(hodges_lehmann_log({5}, {0}, 0.05).estimate), -100.0);
}

TEST(HodgesLehmann, DiffIsTheMedianOfPairwiseDifferences) {
  // Shares of wakeups under pool->lock, before and after: the change in pp.
  std::vector<double> a = {0.40, 0.41, 0.42}, b = {0.001, 0.002, 0.0015, 0.003};
  std::vector<double> d;
  for (double x : a)
    for (double y : b) d.push_back(y - x);
  std::sort(d.begin(), d.end());
  Shift s = hodges_lehmann_diff(a, b, 0.05);
  EXPECT_NEAR(s.estimate, (d[5] + d[6]) / 2, 1e-12);
  ASSERT_TRUE(s.ci.valid);  // 3 vs 4 at 0.05: k = 1, as for the log version
  EXPECT_NEAR(s.ci.lo, d.front(), 1e-12);
  EXPECT_NEAR(s.ci.hi, d.back(), 1e-12);
  EXPECT_NEAR(s.ci.level, 1 - 2.0 / 35.0, 1e-12);
  EXPECT_TRUE(std::isnan(hodges_lehmann_diff({}, {1}, 0.05).estimate));
}

// The interval agrees with the one-sided tests: its lower end is above a
// margin m exactly when the test of b / e^m against a rejects "not larger"
// at alpha, and likewise for the upper end (continuous data: no ties).
TEST(HodgesLehmann, IntervalInvertsTheOneSidedTests) {
  Rng rng(11);
  for (auto [n1, n2] : {std::pair<size_t, size_t>{4, 4}, {2, 10}, {6, 5}, {10, 10}}) {
    for (int rep = 0; rep < 40; ++rep) {
      std::vector<double> a = lognormal(rng, n1, 0, 0.1), b = lognormal(rng, n2, 0.05, 0.1);
      Shift s = hodges_lehmann_log(a, b, 0.05);
      ASSERT_TRUE(s.ci.valid);
      for (double m = -0.3; m <= 0.4; m += 0.0137) {
        std::vector<double> scaled;
        scaled.reserve(b.size());
        for (double y : b) scaled.push_back(y / std::exp(m));
        MannWhitney t = mann_whitney(scaled, a);
        EXPECT_EQ(s.ci.lo > m, t.p_greater <= 0.05) << n1 << "v" << n2 << " m=" << m;
        EXPECT_EQ(s.ci.hi < m, t.p_less <= 0.05) << n1 << "v" << n2 << " m=" << m;
      }
    }
  }
}

// Coverage by simulation: the true shift lies inside the interval about as
// often as its attained level says (exact under a pure shift), also at run
// counts where the percentile bootstrap under-covered (2 v 10, 3 v 3, 4 v 4).
TEST(HodgesLehmann, CoverageMatchesTheAttainedLevel) {
  Rng rng(2024);
  const double shift = std::log(0.8);
  for (auto [n1, n2] : {std::pair<size_t, size_t>{2, 10}, {3, 3}, {4, 4}, {8, 6}}) {
    const int reps = 4000;
    int covered = 0;
    double level = 0;
    for (int i = 0; i < reps; ++i) {
      Shift s =
          hodges_lehmann_log(lognormal(rng, n1, 0, 0.15), lognormal(rng, n2, shift, 0.15), 0.05);
      ASSERT_TRUE(s.ci.valid);
      level = s.ci.level;
      covered += s.ci.lo <= shift && shift <= s.ci.hi;
    }
    double rate = double(covered) / reps, se = std::sqrt(level * (1 - level) / reps);
    EXPECT_NEAR(rate, level, 4 * se) << n1 << " v " << n2;
  }
}

TEST(SignTest, MatchesTheBinomialAndTheMedianInterval) {
  // 7 values, 6 above 10: P(Bin(7, 1/2) >= 6) = (7 + 1) / 128.
  std::vector<double> v = {12, 15, 11, 9, 13, 14, 16};
  EXPECT_NEAR(sign_test_above(v, 10), 8.0 / 128.0, 1e-15);
  EXPECT_NEAR(sign_test_below(v, 10), 1.0 - 1.0 / 128.0, 1e-15);  // 1 below: P(X >= 1)
  // A value equal to the threshold counts for neither side.
  EXPECT_NEAR(sign_test_above({10, 11, 12}, 10), 4.0 / 8.0, 1e-15);
  EXPECT_EQ(sign_test_min_runs(0.05), 5u);  // 1/32 <= 0.05 < 1/16
  EXPECT_DOUBLE_EQ(binom_half_sf(5, 0), 1.0);
  EXPECT_DOUBLE_EQ(binom_half_sf(5, 6), 0.0);
  // The order-statistic bounds invert the sign tests.
  Rng rng(5);
  for (size_t n : {5u, 6u, 9u, 14u}) {
    std::vector<double> x = lognormal(rng, n, 0, 0.3);
    Interval ci = median_ci(x, 0.9);
    ASSERT_TRUE(ci.valid) << n;
    for (double c = 0.3; c < 3; c += 0.011) {
      EXPECT_EQ(ci.lo > c, sign_test_above(x, c) <= 0.05) << n << " c=" << c;
      EXPECT_EQ(ci.hi < c, sign_test_below(x, c) <= 0.05) << n << " c=" << c;
    }
  }
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
  EXPECT_DOUBLE_EQ(six.level, 1 - 2.0 / 64.0);
  // n = 10: [x(2), x(9)] covers 1 - 2 * 11/1024 = 0.9785; [x(3), x(8)] only
  // 1 - 2 * 56/1024 = 0.8906.
  Interval ten = median_ci({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.95);
  ASSERT_TRUE(ten.valid);
  EXPECT_EQ(ten.lo, 2);
  EXPECT_EQ(ten.hi, 9);
}

TEST(Holm, GroupsOfNestedHypothesesCountOnce) {
  std::vector<double> p = {0.01, 0.04, 0.03, 0.005};
  EXPECT_EQ(holm_grouped(p, {0, 1, 2, 3}), holm(p));
  // Sorted .01 (g0), .01 (g0), .04 (g1): steps see 2, 2, 1 groups -> .02, .02, .04
  // (plain Holm over three: .03, .03, .04).
  std::vector<double> g = holm_grouped({0.01, 0.01, 0.04}, {0, 0, 1});
  EXPECT_NEAR(g[0], 0.02, 1e-15);
  EXPECT_NEAR(g[1], 0.02, 1e-15);
  EXPECT_NEAR(g[2], 0.04, 1e-15);
  // A duplicated hypothesis changes nothing.
  std::vector<double> d = holm_grouped({0.02, 0.02, 0.01}, {0, 0, 1});
  std::vector<double> h = holm({0.02, 0.01});
  EXPECT_NEAR(d[0], h[0], 1e-15);
  EXPECT_NEAR(d[2], h[1], 1e-15);
}

TEST(BenjaminiHochberg, WorkedExample) {
  // Sorted .005, .01, .03, .04 (m = 4): q = min over j >= i of m p(j) / j:
  // .04, min(.04, 4/3 * .03) = .04, min(.04, 2 * .01) = .02, min(.02, 4 * .005) = .02.
  std::vector<double> q = benjamini_hochberg({0.01, 0.04, 0.03, 0.005});
  EXPECT_NEAR(q[0], 0.02, 1e-15);
  EXPECT_NEAR(q[1], 0.04, 1e-15);
  EXPECT_NEAR(q[2], 0.04, 1e-15);
  EXPECT_NEAR(q[3], 0.02, 1e-15);
  EXPECT_TRUE(benjamini_hochberg({}).empty());
}

TEST(RunsNeeded, NormalQuantileAndNoether) {
  EXPECT_NEAR(normal_quantile(0.95), 1.6448536, 1e-6);
  EXPECT_NEAR(normal_quantile(0.8), 0.8416212, 1e-6);
  EXPECT_NEAR(normal_quantile(0.025), -1.9599640, 1e-6);
  // (1.644854 + 0.841621)^2 / (6 * 0.25^2) = 16.487
  EXPECT_NEAR(noether_runs_per_side(0.75, 0.05, 0.8), 16.487, 0.001);
  // ((1.644854 / 2 + 0.841621 * 0.4) / 0.3)^2 = 14.927
  EXPECT_NEAR(sign_test_runs(0.8, 0.05, 0.8), 14.927, 0.001);
  EXPECT_TRUE(std::isinf(noether_runs_per_side(0.5, 0.05, 0.8)));
}

// Noether's run count gives about the power it promises: normal runs with
// P(Y > X) = 0.8, the count it names per side, the one-sided exact test.
TEST(RunsNeeded, NoetherDeliversItsPower) {
  double shift = std::sqrt(2.0) * normal_quantile(0.8);  // sigma = 1
  auto n = size_t(std::ceil(noether_runs_per_side(0.8, 0.05, 0.8)));
  ASSERT_EQ(n, 12u);
  Rng rng(77);
  int rejected = 0, reps = 2000;
  for (int i = 0; i < reps; ++i) {
    std::vector<double> a = lognormal(rng, n, 0, 1), b = lognormal(rng, n, shift, 1);
    rejected += mann_whitney(b, a).p_greater <= 0.05;
  }
  double power = double(rejected) / reps;
  EXPECT_GT(power, 0.78);
  EXPECT_LT(power, 0.95);  // Noether is somewhat conservative, not wildly
}

TEST(DeltaPct, Definition) {
  EXPECT_NEAR(delta_pct(341913, 401213), 17.343, 0.001);  // the seed's cache_shard row: +17.3%
  EXPECT_TRUE(std::isnan(delta_pct(0, 5)));
  EXPECT_NEAR(log_ratio_pct(std::log(1.25)), 25.0, 1e-12);
}

}  // namespace
}  // namespace lockscope::stats
