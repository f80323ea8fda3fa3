// SPDX-License-Identifier: Apache-2.0
// One gate check's tests: the two one-sided tests of its margin (relative:
// exact Mann-Whitney on the candidate scaled by 1 / (1 + t); absolute: sign
// tests of the candidate's median), the interval that agrees with them, and
// how many runs would likely decide an undecided check.
#include <algorithm>
#include <cmath>
#include <limits>

#include "format.hpp"
#include "internal.hpp"

namespace lockscope::diff::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPower = 0.8;
constexpr size_t kMaxRunsHint = 1000;

std::string threshold_text(const GateExpr& g) {
  if (g.relative) return fmtx::pct(g.threshold);
  return fmtx::is_share(g.key) ? fmtx::share(g.threshold) : fmt::format("{:g}", g.threshold);
}

// The candidate's values divided by (1 + t), snapped onto a baseline value
// they equal up to rounding, so that "exactly at the margin" ties exactly.
std::vector<double> scaled(const std::vector<double>& cand, const std::vector<double>& base,
                           double t_pct) {
  double f = 1.0 + t_pct / 100.0;
  std::vector<double> out;
  out.reserve(cand.size());
  for (double y : cand) {
    double s = y / f;
    for (double x : base)
      if (std::fabs(s - x) <= 1e-12 * std::max(std::fabs(s), std::fabs(x))) s = x;
    out.push_back(s);
  }
  return out;
}

double sd(const std::vector<double>& v, double* ss, size_t* df) {
  if (v.empty()) return kNaN;
  double m = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  if (ss) *ss += s;
  if (df) *df += v.size() - 1;
  return v.size() > 1 ? std::sqrt(s / double(v.size() - 1)) : kNaN;
}

std::vector<double> logs(const std::vector<double>& v) {
  std::vector<double> out;
  out.reserve(v.size());
  for (double x : v) out.push_back(std::log(x));
  return out;
}

std::string runs_text(size_t n) {
  return n > kMaxRunsHint ? fmt::format("more than {}", kMaxRunsHint) : fmt::format("about {}", n);
}

// Relative: Noether's formula with the observed HL change against the
// margin and the pooled log-scale spread of both sides.
void hint_relative(const GateExpr& g, const Row& row, double alpha, double fail_alpha, Check& c) {
  for (double y : row.cand.v)
    if (!(y > 0)) return;  // a zero run: no log-scale spread
  double m = std::log1p(g.threshold / 100.0), delta = row.shift.estimate - m;
  bool good_side = g.up() ? delta > 0 : delta < 0;
  double a = good_side ? alpha : fail_alpha;
  size_t least = stats::runs_needed_one_sided(a);
  double ss = 0;
  size_t df = 0;
  sd(logs(row.base.v), &ss, &df);
  sd(logs(row.cand.v), &ss, &df);
  if (df == 0) {
    c.runs_needed = least;
    c.hint = fmt::format(
        "at least {} runs per side can decide it (one run per side shows no noise)", least);
    return;
  }
  double sigma = std::sqrt(ss / double(df));
  if (delta == 0) {
    c.hint = "the observed change sits on the margin: more runs are unlikely to decide it";
    return;
  }
  // Y - X ~ N(delta, 2 sigma^2): P(Y > X) = Phi(|delta| / (sigma sqrt 2)).
  double prob = 0.5 * std::erfc(-std::fabs(delta) / (2.0 * sigma));
  double n = sigma > 0 ? stats::noether_runs_per_side(prob, a, kPower) : 0;
  c.runs_needed = std::max(least, size_t(std::ceil(std::min(n, 1e9))));
  c.hint = fmt::format(
      "{} runs per side would likely decide it ({} at {:.0f}% power, Noether's formula: observed "
      "change {} vs margin {}, log-scale spread {:.3f} from {} v {} runs)",
      runs_text(c.runs_needed), good_side ? "PASS" : "FAIL", 100 * kPower,
      fmtx::pct(row.delta_pct()), threshold_text(g), sigma, row.base.v.size(), row.cand.v.size());
}

// Absolute: Noether's formula for the sign test, P(a run on the observed
// side) from a normal fit of the candidate's runs.
void hint_absolute(const GateExpr& g, const Row& row, double alpha, double fail_alpha, Check& c) {
  const std::vector<double>& v = row.cand.v;
  double delta = row.cand.median - g.threshold;
  bool good_side = g.up() ? delta > 0 : delta < 0;
  double a = good_side ? alpha : fail_alpha;
  size_t least = stats::sign_test_min_runs(a);
  double s = sd(v, nullptr, nullptr);
  if (!(v.size() > 1)) {
    c.runs_needed = least;
    c.hint = fmt::format("at least {} candidate runs can decide it", least);
    return;
  }
  if (delta == 0) {
    c.hint = "the candidate's median sits on the threshold: more runs are unlikely to decide it";
    return;
  }
  double prob = s > 0 ? 0.5 * std::erfc(-std::fabs(delta) / s / std::sqrt(2.0)) : 1.0;
  double n = prob < 1 ? stats::sign_test_runs(prob, a, kPower) : 0;
  c.runs_needed = std::max(least, size_t(std::ceil(std::min(n, 1e9))));
  c.hint = fmt::format(
      "{} candidate runs would likely decide it ({} at {:.0f}% power, Noether's formula for the "
      "sign test: median {} vs {}, spread {} from {} runs)",
      runs_text(c.runs_needed), good_side ? "PASS" : "FAIL", 100 * kPower,
      fmtx::value(g.key, row.cand.median), threshold_text(g), fmtx::value(g.key, s), v.size());
}

}  // namespace

bool test_check(const GateExpr& g, const Row& row, double alpha, Check& c) {
  c.relative = g.relative;
  c.level = alpha;
  c.estimate = kNaN;
  c.n_base = row.base.v.size();
  c.n_cand = row.cand.v.size();
  if (g.relative) {
    if (!row.relative) {
      c.reason = "a relative change needs every baseline run above 0 (use an absolute threshold)";
      return false;
    }
    stats::Shift sh = stats::hodges_lehmann_log(row.base.v, row.cand.v, alpha);
    c.estimate = stats::log_ratio_pct(sh.estimate);
    if (sh.ci.valid) {
      c.ci = sh.ci;
      c.ci.lo = stats::log_ratio_pct(sh.ci.lo);
      c.ci.hi = stats::log_ratio_pct(sh.ci.hi);
    }
    double minp = stats::min_p_one_sided(c.n_base, c.n_cand);
    if (minp > alpha) {
      c.reason = fmt::format(
          "too few runs: {} vs {} cannot reach p <= {:.3g} (smallest one-sided p = {:.3g}; change "
          "{})",
          c.n_base, c.n_cand, alpha, minp, fmtx::pct(c.estimate));
      return false;
    }
    stats::MannWhitney mw =
        stats::mann_whitney(scaled(row.cand.v, row.base.v, g.threshold), row.base.v);
    c.p_pass = g.up() ? mw.p_greater : mw.p_less;
    c.p_fail = g.up() ? mw.p_less : mw.p_greater;
    return true;
  }
  const std::vector<double>& v = row.cand.v;
  c.estimate = row.cand.median;
  c.ci = stats::median_ci(v, 1.0 - 2.0 * alpha);
  double minp = std::pow(0.5, double(v.size()));
  if (minp > alpha) {
    c.reason = fmt::format(
        "too few runs: {} candidate run{} (median {}) cannot reach p <= {:.3g} (smallest sign-test "
        "p = {:.3g})",
        v.size(), v.size() == 1 ? "" : "s", fmtx::value(g.key, c.estimate), alpha, minp);
    return false;
  }
  c.p_pass =
      g.up() ? stats::sign_test_above(v, g.threshold) : stats::sign_test_below(v, g.threshold);
  c.p_fail =
      g.up() ? stats::sign_test_below(v, g.threshold) : stats::sign_test_above(v, g.threshold);
  return true;
}

void explain(const GateExpr& g, const Row& row, double alpha, double fail_alpha, Check& c) {
  std::string est;
  if (g.relative) {
    est = "change " + fmtx::pct(c.estimate);
    if (c.ci.valid)
      est += fmt::format(", {:.1f}% CI [{}, {}]", 100 * c.ci.level, fmtx::pct(c.ci.lo),
                         fmtx::pct(c.ci.hi));
  } else {
    est = "candidate median " + fmtx::value(g.key, c.estimate);
    if (c.ci.valid)
      est += fmt::format(", {:.1f}% CI [{}, {}]", 100 * c.ci.level, fmtx::value(g.key, c.ci.lo),
                         fmtx::value(g.key, c.ci.hi));
  }
  std::string margin = (g.relative ? "the margin " : "") + threshold_text(g);
  if (c.in_family) {
    std::string ps =
        fmt::format("p(pass) = {}, p(fail) = {}, Holm-adjusted {}", fmtx::pvalue(c.p_pass),
                    fmtx::pvalue(c.p_fail), fmtx::pvalue(c.p_fail_adj));
    if (c.outcome == Outcome::kPass)
      c.reason = fmt::format("{}: on the good side of {} (p(pass) = {} <= {:.3g})", est, margin,
                             fmtx::pvalue(c.p_pass), alpha);
    else if (c.outcome == Outcome::kRegression)
      c.reason = fmt::format("{}: beyond {} (p(fail) = {}, Holm-adjusted {} <= {:.3g})", est,
                             margin, fmtx::pvalue(c.p_fail), fmtx::pvalue(c.p_fail_adj), alpha);
    else
      c.reason =
          fmt::format("{}: not decided against {} ({}; both > {:.3g})", est, margin, ps, alpha);
  }
  if (c.outcome != Outcome::kInconclusive || row.base.v.empty() || row.cand.v.empty()) return;
  if (g.relative && row.relative)
    hint_relative(g, row, alpha, fail_alpha, c);
  else if (!g.relative)
    hint_absolute(g, row, alpha, fail_alpha, c);
}

}  // namespace lockscope::diff::detail
