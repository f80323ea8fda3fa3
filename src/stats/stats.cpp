// SPDX-License-Identifier: Apache-2.0
#include "lockscope/stats/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace lockscope::stats {

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + n / 2, v.end());
  double hi = v[n / 2];
  if (n % 2) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + n / 2);
  return (lo + hi) / 2.0;
}

double delta_pct(double a, double b) {
  if (a == 0 || std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  return 100.0 * (b / a - 1.0);
}

namespace {

// Mid-ranks of the pooled sample, doubled so that they are integers.
// Returns the doubled ranks in pooled order (a first, then b) and the tie
// correction term sum(t^3 - t) over tie groups.
std::vector<long> doubled_midranks(const std::vector<double>& a, const std::vector<double>& b,
                                   double* tie_term) {
  size_t n = a.size() + b.size();
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return pooled[x] < pooled[y]; });
  std::vector<long> r2(n);
  double ties = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && pooled[order[j + 1]] == pooled[order[i]]) ++j;
    // positions i..j (0-based) share the mid-rank ((i+1)+(j+1))/2; doubled:
    long mid2 = long(i + j + 2);
    for (size_t k = i; k <= j; ++k) r2[order[k]] = mid2;
    double t = double(j - i + 1);
    ties += t * t * t - t;
    i = j + 1;
  }
  if (tie_term) *tie_term = ties;
  return r2;
}

}  // namespace

MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitney r;
  size_t n1 = a.size(), n2 = b.size(), n = n1 + n2;
  if (n1 == 0 || n2 == 0) return r;
  double tie_term = 0;
  std::vector<long> r2 = doubled_midranks(a, b, &tie_term);
  long w2 = 0;  // doubled rank sum of a
  for (size_t i = 0; i < n1; ++i) w2 += r2[i];
  r.u = double(w2) / 2.0 - double(n1) * double(n1 + 1) / 2.0;

  if (n <= kExactLimit) {
    // Count the subsets of size n1 of the pooled (doubled) ranks by their sum.
    long max_sum = 0;
    for (long x : r2) max_sum += x;
    std::vector<std::vector<double>> cnt(n1 + 1, std::vector<double>(size_t(max_sum) + 1, 0.0));
    cnt[0][0] = 1;
    long reach = 0;
    for (size_t i = 0; i < n; ++i) {
      long x = r2[i];
      reach += x;
      for (size_t k = std::min(n1, i + 1); k >= 1; --k) {
        auto& dst = cnt[k];
        const auto& src = cnt[k - 1];
        for (long s = reach; s >= x; --s) dst[size_t(s)] += src[size_t(s - x)];
      }
    }
    // E[W] = n1 (n + 1) / 2, so E[2W] = n1 (n + 1): compare doubled sums in integers.
    long e2 = long(n1) * long(n + 1);
    long obs = std::labs(w2 - e2);
    double total = 0, extreme = 0;
    for (long s = 0; s <= max_sum; ++s) {
      double c = cnt[n1][size_t(s)];
      if (c == 0) continue;
      total += c;
      if (std::labs(s - e2) >= obs) extreme += c;
    }
    r.p = std::min(1.0, extreme / total);
    r.exact = true;
    return r;
  }

  double mean = double(n1) * double(n2) / 2.0;
  double var =
      double(n1) * double(n2) / 12.0 * (double(n + 1) - tie_term / (double(n) * double(n - 1)));
  if (var <= 0) {
    r.p = 1;
    return r;
  }
  double z = std::max(0.0, std::fabs(r.u - mean) - 0.5) / std::sqrt(var);
  r.p = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return r;
}

double min_p_value(size_t n1, size_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  // C(n1 + n2, n1) in floating point (exact far beyond the sizes that matter).
  double c = 1;
  size_t k = std::min(n1, n2), n = n1 + n2;
  for (size_t i = 1; i <= k; ++i) c = c * double(n - k + i) / double(i);
  return std::min(1.0, 2.0 / c);
}

size_t runs_needed(double alpha) {
  for (size_t k = 1; k < 1000; ++k)
    if (min_p_value(k, k) <= alpha) return k;
  return 1000;
}

std::vector<double> holm(const std::vector<double>& p) {
  size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  std::vector<double> adj(m);
  double running = 0;
  for (size_t i = 0; i < m; ++i) {
    double v = std::min(1.0, double(m - i) * p[order[i]]);
    running = std::max(running, v);
    adj[order[i]] = running;
  }
  return adj;
}

uint64_t Rng::next() {
  uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rng::below(uint64_t n) {
  // Lemire's multiply-and-reject: unbiased, and divides only when rejecting.
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

namespace {

// Median of a resample of the sorted values `v`, drawn with replacement.
// `counts` is scratch space of v.size().
double resampled_median(const std::vector<double>& v, Rng& rng, std::vector<uint32_t>& counts) {
  size_t n = v.size();
  std::fill(counts.begin(), counts.end(), 0);
  for (size_t i = 0; i < n; ++i) ++counts[rng.below(n)];
  size_t lo_pos = (n - 1) / 2, hi_pos = n / 2;  // 0-based order statistics
  double lo = 0, hi = 0;
  size_t seen = 0;
  bool have_lo = false;
  for (size_t i = 0; i < n; ++i) {
    seen += counts[i];
    if (!have_lo && seen > lo_pos) {
      lo = v[i];
      have_lo = true;
    }
    if (seen > hi_pos) {
      hi = v[i];
      break;
    }
  }
  return (lo + hi) / 2.0;
}

double quantile_sorted(const std::vector<double>& s, double q) {
  double h = q * double(s.size() - 1);
  size_t i = size_t(std::floor(h));
  if (i + 1 >= s.size()) return s.back();
  return s[i] + (h - double(i)) * (s[i + 1] - s[i]);
}

Interval percentile_interval(std::vector<double>& stat, double level) {
  Interval r;
  std::sort(stat.begin(), stat.end());
  double tail = (1.0 - level) / 2.0;
  r.lo = quantile_sorted(stat, tail);
  r.hi = quantile_sorted(stat, 1.0 - tail);
  r.valid = true;
  return r;
}

}  // namespace

Interval bootstrap_delta_pct(const std::vector<double>& a, const std::vector<double>& b,
                             uint64_t seed, size_t resamples, double level) {
  if (a.empty() || b.empty() || resamples == 0) return {};
  std::vector<double> sa(a), sb(b);
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  std::vector<uint32_t> ca(sa.size()), cb(sb.size());
  Rng rng(seed);
  std::vector<double> stat;
  stat.reserve(resamples);
  for (size_t i = 0; i < resamples; ++i) {
    double ma = resampled_median(sa, rng, ca);
    double mb = resampled_median(sb, rng, cb);
    if (ma == 0) return {};
    stat.push_back(100.0 * (mb / ma - 1.0));
  }
  return percentile_interval(stat, level);
}

namespace {

// P(Bin(n, 1/2) <= k)
double binom_half_cdf(size_t n, size_t k) {
  double term = std::pow(0.5, double(n)), sum = 0;  // P(X = 0)
  for (size_t i = 0; i <= k && i <= n; ++i) {
    sum += term;
    term = term * double(n - i) / double(i + 1);
  }
  return sum;
}

}  // namespace

Interval median_ci(const std::vector<double>& a, double level) {
  size_t n = a.size();
  if (n == 0 || 1.0 - 2.0 * binom_half_cdf(n, 0) < level) return {};
  std::vector<double> s(a);
  std::sort(s.begin(), s.end());
  size_t k = 1;
  while (k + 1 <= (n + 1) / 2 && 1.0 - 2.0 * binom_half_cdf(n, k) >= level) ++k;
  Interval r;
  r.lo = s[k - 1];
  r.hi = s[n - k];
  r.valid = true;
  return r;
}

size_t median_ci_min_runs(double level) {
  size_t n = 1;
  while (n < 1000 && 1.0 - 2.0 * binom_half_cdf(n, 0) < level) ++n;
  return n;
}

}  // namespace lockscope::stats
