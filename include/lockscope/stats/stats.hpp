// SPDX-License-Identifier: Apache-2.0
// Run-level statistics for comparing a baseline with a candidate: medians,
// exact Mann-Whitney rank tests (two- and one-sided, ties included), the
// Hodges-Lehmann shift with its rank-test inversion interval, the sign test
// and order-statistic bounds of a median, Holm's step-down correction, and
// run counts from Noether's formula. Every function takes one value per run:
// never pool events across runs. The contract is docs/diff.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lockscope::stats {

// Median; the mean of the two middle values for an even count. NaN if empty.
double median(std::vector<double> v);

// Mann-Whitney U test of samples a and b. W is the rank sum of `a`.
struct MannWhitney {
  double u = 0;          // U statistic of `a`: pairs (a_i > b_j) + 0.5 * ties
  double p = 1;          // two-sided: P(|W - E[W]| >= |w - E[W]|)
  double p_greater = 1;  // one-sided P(W >= w): small when a tends to be larger than b
  double p_less = 1;     // one-sided P(W <= w): small when a tends to be smaller than b
  bool exact = false;    // exact permutation distribution (else normal approx.)
};
// Exact, conditional on the observed tie pattern (mid-ranks): without ties
// when a.size() + b.size() <= kExactNoTiesLimit, with ties when it is
// <= kExactLimit. Otherwise a normal approximation with tie-corrected
// variance and a 0.5 continuity correction. Empty a or b: every p = 1.
inline constexpr std::size_t kExactLimit = 40;
inline constexpr std::size_t kExactNoTiesLimit = 200;
MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b);

// Null distribution of U for n1 vs n2 values without ties: P(U <= k).
double u_cdf(std::size_t n1, std::size_t n2, long k);
// Smallest one-sided p-value the exact test can produce for n1 vs n2 runs:
// 1 / C(n1 + n2, n1), capped at 1 (ties can only make it larger).
double min_p_one_sided(std::size_t n1, std::size_t n2);
// Two-sided: twice that, capped at 1.
double min_p_value(std::size_t n1, std::size_t n2);
// Smallest equal number of runs per side whose min_p_one_sided() <= alpha.
std::size_t runs_needed_one_sided(double alpha);
// Smallest equal number of runs per side whose min_p_value() <= alpha.
std::size_t runs_needed(double alpha);

struct Interval {
  double lo = 0;
  double hi = 0;
  bool valid = false;  // false: the run counts cannot give the interval
  double level = 0;    // attained two-sided coverage (exact, without ties)
};

// Hodges-Lehmann estimate of the shift of log(b) against log(a): the median
// of the n1 * n2 differences log(b_j) - log(a_i), with the interval from
// inverting the exact rank-sum test: [d(k), d(N+1-k)] of the sorted
// differences, k the largest with P(U <= k - 1) <= alpha, so each end is a
// one-sided bound at level >= 1 - alpha (two-sided >= 1 - 2 alpha).
// Without ties, "interval entirely above m" holds exactly when the
// one-sided test of b / e^m against a rejects "not larger" at alpha.
// a must be > 0; b >= 0 (a zero gives -inf). Invalid when P(U <= 0) > alpha.
struct Shift {
  double estimate = 0;  // NaN when a side is empty
  Interval ci;          // on the log scale
};
Shift hodges_lehmann_log(const std::vector<double>& a, const std::vector<double>& b, double alpha);
// The same of the differences b_j - a_i themselves (an absolute shift, e.g.
// of shares: their change in percentage points is 100 * estimate).
Shift hodges_lehmann_diff(const std::vector<double>& a, const std::vector<double>& b, double alpha);

// P(Bin(n, 1/2) >= k).
double binom_half_sf(std::size_t n, std::size_t k);
// Sign test that the median of `v` is above `c`: p = P(Bin(n, 1/2) >= #{v > c})
// (values equal to c count for neither side, which keeps it valid).
double sign_test_above(const std::vector<double>& v, double c);
// ... and below c: P(Bin(n, 1/2) >= #{v < c}).
double sign_test_below(const std::vector<double>& v, double c);
// Smallest n with 0.5^n <= alpha: the runs a one-sided sign test needs.
std::size_t sign_test_min_runs(double alpha);

// Distribution-free confidence interval of the median from order statistics:
// [x_(k), x_(n-k+1)] with the largest k whose binomial coverage
// 1 - 2 P(Bin(n, 1/2) <= k - 1) is >= level (attained coverage in `level`).
// Each end is the bound the one-sided sign test at (1 - level) / 2 inverts.
// valid = false when even [min, max] does not reach `level`.
Interval median_ci(const std::vector<double>& a, double level);
// Smallest sample whose median_ci() exists at `level`.
std::size_t median_ci_min_runs(double level);

// Holm's step-down adjusted p-values, in the order given.
std::vector<double> holm(const std::vector<double>& p);
// Holm over groups of nested hypotheses: hypotheses with the same group id
// are nested (their nulls form a chain, e.g. "shift >= -5%" and "shift >=
// -3%" on one row) and p must be monotone along the chain. Sorted by p, step
// j is tested at alpha / (number of groups that still hold an unrejected
// hypothesis), so a group counts once however many hypotheses it holds.
// With distinct groups this is holm(). Returns adjusted p-values.
std::vector<double> holm_grouped(const std::vector<double>& p,
                                 const std::vector<std::size_t>& group);

// Benjamini-Hochberg adjusted p-values (q-values), in the order given:
// rejecting every q <= alpha keeps the expected share of false rejections
// <= alpha under independence or positive dependence.
std::vector<double> benjamini_hochberg(const std::vector<double>& p);

// Inverse of the standard normal CDF, by bisection on std::erfc (to 1e-12).
double normal_quantile(double p);
// Noether's formula for the Mann-Whitney test with equal sides: runs per
// side for power `power` at one-sided `alpha` when P(Y > X) = prob:
// n = (z_alpha + z_power)^2 / (6 (prob - 1/2)^2), rounded up.
double noether_runs_per_side(double prob, double alpha, double power);
// Noether's formula for the sign test: n = ((z_a / 2 + z_b sqrt(p (1 - p))) /
// (p - 1/2))^2 with p = P(a value is on the tested side).
double sign_test_runs(double prob, double alpha, double power);

// Deterministic generator (splitmix64): the same seed gives the same stream
// on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next();
  // Uniform integer in [0, n), n > 0, without modulo bias.
  uint64_t below(uint64_t n);

 private:
  uint64_t s_;
};

// 100 * (b / a - 1); NaN when a == 0.
double delta_pct(double a, double b);
// 100 * (exp(x) - 1): a log ratio as a percent change.
double log_ratio_pct(double x);

}  // namespace lockscope::stats
