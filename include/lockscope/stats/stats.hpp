// SPDX-License-Identifier: Apache-2.0
// Run-level statistics for comparing a baseline with a candidate: medians,
// Mann-Whitney U (exact for small samples, ties included), a seeded and
// platform-independent bootstrap, and Holm's step-down correction.
// Every function takes one value per run: never pool events across runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lockscope::stats {

// Median; the mean of the two middle values for an even count. NaN if empty.
double median(std::vector<double> v);

// Two-sided Mann-Whitney U test of samples a and b.
struct MannWhitney {
  double u = 0;        // U statistic of `a`: pairs (a_i > b_j) + 0.5 * ties
  double p = 1;        // two-sided p-value
  bool exact = false;  // exact permutation distribution (else normal approx.)
};
// Exact when a.size() + b.size() <= kExactLimit: the permutation distribution
// of the rank sum, conditional on the observed tie pattern (mid-ranks), and
// p = P(|W - E[W]| >= |w - E[W]|). Larger samples: normal approximation with
// tie-corrected variance and a 0.5 continuity correction.
// Empty a or b: p = 1.
inline constexpr std::size_t kExactLimit = 40;
MannWhitney mann_whitney(const std::vector<double>& a, const std::vector<double>& b);

// Smallest two-sided p-value the exact test can produce for n1 vs n2 runs
// (no ties): 2 / C(n1 + n2, n1), capped at 1.
double min_p_value(std::size_t n1, std::size_t n2);
// Smallest equal number of runs per side whose min_p_value() <= alpha.
std::size_t runs_needed(double alpha);

// Holm's step-down adjusted p-values, in the order given.
std::vector<double> holm(const std::vector<double>& p);

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

// Percentile bootstrap of the relative change of medians,
// 100 * (median(b*) / median(a*) - 1), resampling each side independently,
// with `resamples` draws from `seed`. `level` is the confidence level (0.95).
struct Interval {
  double lo = 0;
  double hi = 0;
  bool valid = false;  // false: a side is empty or a resampled baseline median is 0
};
Interval bootstrap_delta_pct(const std::vector<double>& a, const std::vector<double>& b,
                             uint64_t seed, std::size_t resamples, double level = 0.95);
// Distribution-free confidence interval of the median from order statistics:
// [x_(k), x_(n-k+1)] with the largest k whose binomial coverage
// 1 - 2 P(Bin(n, 1/2) <= k - 1) is >= level. valid = false when even
// [min, max] does not reach `level` (fewer than 6 values at 0.95).
Interval median_ci(const std::vector<double>& a, double level = 0.95);
// Smallest sample whose median_ci() exists at `level`.
std::size_t median_ci_min_runs(double level = 0.95);

// 100 * (b / a - 1); NaN when a == 0.
double delta_pct(double a, double b);

}  // namespace lockscope::stats
