// SPDX-License-Identifier: Apache-2.0
#include "lockscope/stats/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace lockscope::stats {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + n / 2, v.end());
  double hi = v[n / 2];
  if (n % 2) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + n / 2);
  return (lo + hi) / 2.0;
}

double delta_pct(double a, double b) {
  if (a == 0 || std::isnan(a) || std::isnan(b)) return kNaN;
  return 100.0 * (b / a - 1.0);
}

double log_ratio_pct(double x) { return 100.0 * std::expm1(x); }

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

// Number of arrangements of n1 vs n2 distinct values with U = u, u = 0..n1*n2:
// the coefficients of the Gaussian binomial [n1 + n2 choose n1]_q, built as
// prod_{i=1..m} (1 - q^(M+i)) / (1 - q^i) with m = min(n1, n2), M = max.
std::vector<double> u_counts(size_t n1, size_t n2) {
  size_t m = std::min(n1, n2), big = std::max(n1, n2);
  std::vector<double> c(m * big + m + 1, 0.0);  // room for the product before each division
  c[0] = 1;
  size_t deg = 0;
  for (size_t i = 1; i <= m; ++i) {
    size_t up = big + i;
    for (size_t u = deg + up; u >= up; --u) c[u] -= c[u - up];  // times (1 - q^up)
    deg += up;
    for (size_t u = i; u <= deg - i; ++u) c[u] += c[u - i];  // divided by (1 - q^i)
    deg -= i;
    for (size_t u = deg + 1; u <= deg + i; ++u) c[u] = 0;
  }
  c.resize(m * big + 1);
  return c;
}

double choose(size_t n, size_t k) {
  k = std::min(k, n - k);
  double c = 1;
  for (size_t i = 1; i <= k; ++i) c = c * double(n - k + i) / double(i);
  return c;
}

// Upper tail of the standard normal: P(Z >= z).
double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

double u_cdf(size_t n1, size_t n2, long k) {
  if (k < 0) return 0;
  if (n1 == 0 || n2 == 0) return 1;
  std::vector<double> c = u_counts(n1, n2);
  double total = choose(n1 + n2, n1), cum = 0;
  for (size_t u = 0; u < c.size() && long(u) <= k; ++u) cum += c[u];
  return std::min(1.0, cum / total);
}

MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitney r;
  size_t n1 = a.size(), n2 = b.size(), n = n1 + n2;
  if (n1 == 0 || n2 == 0) return r;
  double tie_term = 0;
  std::vector<long> r2 = doubled_midranks(a, b, &tie_term);
  long w2 = 0;  // doubled rank sum of a
  for (size_t i = 0; i < n1; ++i) w2 += r2[i];
  r.u = double(w2) / 2.0 - double(n1) * double(n1 + 1) / 2.0;

  if (tie_term == 0 && n <= kExactNoTiesLimit) {
    // No ties: U is an integer and its null distribution is the q-binomial's.
    std::vector<double> c = u_counts(n1, n2);
    double total = choose(n, n1), lower = 0, upper = 0;
    auto u = size_t(std::lround(r.u));
    for (size_t v = 0; v < c.size(); ++v) {
      if (v <= u) lower += c[v];
      if (v >= u) upper += c[v];
    }
    r.p_less = std::min(1.0, lower / total);
    r.p_greater = std::min(1.0, upper / total);
    r.p = std::min(1.0, 2.0 * std::min(r.p_less, r.p_greater));
    r.exact = true;
    return r;
  }
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
    double total = 0, extreme = 0, lower = 0, upper = 0;
    for (long s = 0; s <= max_sum; ++s) {
      double c = cnt[n1][size_t(s)];
      if (c == 0) continue;
      total += c;
      if (std::labs(s - e2) >= obs) extreme += c;
      if (s <= w2) lower += c;
      if (s >= w2) upper += c;
    }
    r.p = std::min(1.0, extreme / total);
    r.p_less = std::min(1.0, lower / total);
    r.p_greater = std::min(1.0, upper / total);
    r.exact = true;
    return r;
  }

  double mean = double(n1) * double(n2) / 2.0;
  double var =
      double(n1) * double(n2) / 12.0 * (double(n + 1) - tie_term / (double(n) * double(n - 1)));
  if (var <= 0) return r;  // every value tied: no evidence either way
  double sd = std::sqrt(var);
  double z = std::max(0.0, std::fabs(r.u - mean) - 0.5) / sd;
  r.p = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  r.p_greater = std::min(1.0, normal_sf((r.u - mean - 0.5) / sd));
  r.p_less = std::min(1.0, normal_sf((mean - r.u - 0.5) / sd));
  return r;
}

double min_p_one_sided(size_t n1, size_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  return std::min(1.0, 1.0 / choose(n1 + n2, n1));
}

double min_p_value(size_t n1, size_t n2) { return std::min(1.0, 2.0 * min_p_one_sided(n1, n2)); }

size_t runs_needed_one_sided(double alpha) {
  for (size_t k = 1; k < 1000; ++k)
    if (min_p_one_sided(k, k) <= alpha) return k;
  return 1000;
}

size_t runs_needed(double alpha) {
  for (size_t k = 1; k < 1000; ++k)
    if (min_p_value(k, k) <= alpha) return k;
  return 1000;
}

namespace {
// The Hodges-Lehmann estimate and rank-test interval of the n1 * n2
// pairwise differences `d` (any order).
Shift hodges_lehmann_of(std::vector<double> d, size_t n1, size_t n2, double alpha) {
  Shift s;
  std::sort(d.begin(), d.end());
  size_t n = d.size();
  s.estimate = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2.0;
  // k: the largest with P(U <= k - 1) <= alpha (normal approximation with a
  // continuity correction beyond kExactNoTiesLimit runs).
  size_t k = 0;
  double tail = 0;
  if (n1 + n2 <= kExactNoTiesLimit) {
    std::vector<double> c = u_counts(n1, n2);
    double total = choose(n1 + n2, n1), cum = 0;
    while (k < c.size() && (cum + c[k]) / total <= alpha) cum += c[k++];
    tail = cum / total;
  } else {
    double mean = double(n) / 2.0, sd = std::sqrt(double(n) * double(n1 + n2 + 1) / 12.0);
    double kk = std::floor(mean + 0.5 + normal_quantile(alpha) * sd);
    k = kk > 0 ? size_t(kk) : 0;
    tail = 1.0 - normal_sf((double(k) - 0.5 - mean) / sd);
  }
  if (k == 0) return s;
  s.ci.lo = d[k - 1];
  s.ci.hi = d[n - k];
  s.ci.level = 1.0 - 2.0 * tail;
  s.ci.valid = true;
  return s;
}
}  // namespace

Shift hodges_lehmann_log(const std::vector<double>& a, const std::vector<double>& b, double alpha) {
  size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return Shift{kNaN, {}};
  std::vector<double> d;
  d.reserve(n1 * n2);
  for (double x : a)
    for (double y : b) d.push_back((y == 0 ? -kInf : std::log(y)) - std::log(x));
  return hodges_lehmann_of(std::move(d), n1, n2, alpha);
}

Shift hodges_lehmann_diff(const std::vector<double>& a, const std::vector<double>& b,
                          double alpha) {
  size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return Shift{kNaN, {}};
  std::vector<double> d;
  d.reserve(n1 * n2);
  for (double x : a)
    for (double y : b) d.push_back(y - x);
  return hodges_lehmann_of(std::move(d), n1, n2, alpha);
}

double binom_half_sf(size_t n, size_t k) {
  if (k == 0) return 1.0;
  if (k > n) return 0.0;
  double term = std::pow(0.5, double(n)), sum = 0;  // P(X = 0)
  for (size_t i = 0; i <= n; ++i) {
    if (i >= k) sum += term;
    term = term * double(n - i) / double(i + 1);
  }
  return std::min(1.0, sum);
}

double sign_test_above(const std::vector<double>& v, double c) {
  size_t k = size_t(std::count_if(v.begin(), v.end(), [c](double x) { return x > c; }));
  return binom_half_sf(v.size(), k);
}

double sign_test_below(const std::vector<double>& v, double c) {
  size_t k = size_t(std::count_if(v.begin(), v.end(), [c](double x) { return x < c; }));
  return binom_half_sf(v.size(), k);
}

size_t sign_test_min_runs(double alpha) {
  size_t n = 1;
  while (n < 1000 && std::pow(0.5, double(n)) > alpha) ++n;
  return n;
}

namespace {

// P(Bin(n, 1/2) <= k)
double binom_half_cdf(size_t n, size_t k) { return 1.0 - binom_half_sf(n, k + 1); }

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
  r.level = 1.0 - 2.0 * binom_half_cdf(n, k - 1);
  r.valid = true;
  return r;
}

size_t median_ci_min_runs(double level) {
  size_t n = 1;
  while (n < 1000 && 1.0 - 2.0 * binom_half_cdf(n, 0) < level) ++n;
  return n;
}

std::vector<double> holm(const std::vector<double>& p) {
  std::vector<size_t> group(p.size());
  std::iota(group.begin(), group.end(), 0);
  return holm_grouped(p, group);
}

std::vector<double> holm_grouped(const std::vector<double>& p, const std::vector<size_t>& group) {
  size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  // groups[j]: distinct groups among order[j..m-1] (those still unrejected at step j).
  std::vector<size_t> groups(m);
  std::vector<size_t> seen;
  for (size_t j = m; j-- > 0;) {
    size_t g = group[order[j]];
    if (std::find(seen.begin(), seen.end(), g) == seen.end()) seen.push_back(g);
    groups[j] = seen.size();
  }
  std::vector<double> adj(m);
  double running = 0;
  for (size_t j = 0; j < m; ++j) {
    running = std::max(running, std::min(1.0, double(groups[j]) * p[order[j]]));
    adj[order[j]] = running;
  }
  return adj;
}

std::vector<double> benjamini_hochberg(const std::vector<double>& p) {
  size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  std::vector<double> q(m);
  double running = 1;
  for (size_t j = m; j-- > 0;) {
    running = std::min(running, double(m) / double(j + 1) * p[order[j]]);
    q[order[j]] = std::min(1.0, running);
  }
  return q;
}

double normal_quantile(double p) {
  if (!(p > 0)) return -kInf;
  if (!(p < 1)) return kInf;
  double lo = -40, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    double mid = (lo + hi) / 2;
    (1.0 - normal_sf(mid) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double noether_runs_per_side(double prob, double alpha, double power) {
  double e = prob - 0.5;
  if (e == 0 || std::isnan(e)) return kInf;
  double z = normal_quantile(1 - alpha) + normal_quantile(power);
  return z * z / (6.0 * e * e);
}

double sign_test_runs(double prob, double alpha, double power) {
  double e = prob - 0.5;
  if (e == 0 || std::isnan(e)) return kInf;
  double x =
      (normal_quantile(1 - alpha) / 2 + normal_quantile(power) * std::sqrt(prob * (1 - prob))) / e;
  return x * x;
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

}  // namespace lockscope::stats
