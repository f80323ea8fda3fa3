// SPDX-License-Identifier: Apache-2.0
// `lockscope diff`: baseline vs candidate profiles, compared run by run, and
// the gate that turns the comparison into an exit code. The statistics are in
// lockscope/stats.hpp; the user-visible contract is docs/diff.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lockscope/core/metrics.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/stats/stats.hpp"

namespace lockscope::diff {

inline constexpr int kJsonVersion = 2;

struct Options {
  // Error rate of every decision: each check's PASS, the gate's family-wise
  // FAIL. Intervals are two-sided at (at least) 1 - 2 alpha: each end is the
  // one-sided bound at 1 - alpha that the tests invert.
  double alpha = 0.05;
  // A run that lost more than this fraction of its events (Run::loss_fraction)
  // makes the comparison of its scope inconclusive. 0 = any loss does.
  double max_loss = 0.0;
  // Sequential gate: the planned maximum number of runs per side; every
  // prefix of 1, 2, ... runs per side is a look with its own share of alpha
  // (look_levels()). 0: one look at alpha (a fixed design).
  std::size_t sequential = 0;
};

// One side of the comparison: a profile file, or every *.json in a folder
// (sorted by name). Throws Error(kExitUsage) for unreadable, malformed or
// empty inputs.
struct Side {
  std::string path;
  std::vector<std::string> files;
  std::vector<Profile> profiles;
  std::size_t run_count() const;
};
Side load_side(const std::string& path);
// The first `runs` runs of every scope (in file, then run order).
Side prefix(const Side& s, std::size_t runs);

// What is compared, as named in gate expressions:
//   tput                          workload items per second
//   p50 | p90 | p95 | p99         workload (enqueue) latency percentile
//   METRIC.STAT                   a statistic of a lock metric (metric_stats())
bool is_workload_key(const std::string& key);
// Every statistic a gate may name after a metric.
const std::vector<std::string>& all_metric_stats();
// The statistics metric `name` offers: what the metric catalogue lists for
// its kind (lockscope/core/metrics.hpp), kept to what the profile holds for
// it (a histogram: p50, p90, p95, p99, mean, min, max, count; a count: count;
// with a total: share). A metric the catalogue does not know offers all that
// it holds. Empty for an unavailable metric.
std::vector<std::string> metric_stats(const std::string& name, const Metric& m);
// The keys the tables show first, in this order; other metrics follow by name.
const std::vector<std::string>& shown_keys();

// One side's per-run summaries of one key in one scope.
struct Values {
  std::vector<double> v;        // one value per run that has it, in run order
  std::size_t runs = 0;         // runs in this scope
  std::size_t unavailable = 0;  // runs where the metric is `unavailable`
  std::size_t missing = 0;      // runs without the metric or statistic
  std::string reason;           // first reason given for unavailable/missing
  double median = 0;            // of v (NaN when v is empty)
  // Every run of the scope has a value.
  bool complete() const { return runs > 0 && unavailable == 0 && missing == 0; }
};

struct Row {
  std::string scope;  // "all" for runs without a scope
  std::string key;
  Values base, cand;
  double median_delta_pct = 0;  // 100 * (cand median / base median - 1); NaN if undefined
  // Hodges-Lehmann shift of log(cand) vs log(base) and its rank-test
  // interval (level >= 1 - 2 alpha); `relative` says it is defined: both
  // sides complete, every baseline value > 0, no negative value.
  stats::Shift shift;
  bool relative = false;
  stats::MannWhitney mw;  // two-sided "no change" test of the raw values
  bool tested = false;    // both sides complete with >= 2 runs: mw is meaningful
  double q = 1;           // Benjamini-Hochberg adjusted mw.p over the table's rows
  bool in_table = false;  // shown in the text/markdown/html tables
  bool comparable() const { return base.complete() && cand.complete(); }
  double delta_pct() const;  // the HL shift in percent (NaN unless `relative`)
  // Shares (key "METRIC.share"): the Hodges-Lehmann shift of the share itself
  // and its interval, shown in percentage points (100 * points.estimate).
  bool share = false;  // both sides complete and the key is a share
  stats::Shift points;
};

enum class Outcome { kPass, kRegression, kInconclusive };
const char* outcome_name(Outcome o);

// A gate expression (grammar in docs/diff.md):
//   tput[cache] >= +5%     pool_lock_hold_ns.p95 <= -10%
//   wakeups_under_pool_lock.share <= 0.01
struct GateExpr {
  enum class Op { kLe, kLt, kGe, kGt };
  std::string text;   // as written, trimmed
  std::string key;    // "tput", "pool_lock_hold_ns.p95", ...
  std::string scope;  // empty: every scope both sides have
  Op op = Op::kLe;
  double threshold = 0;   // percent when relative
  bool relative = false;  // threshold on the change % (else on the candidate's median)
  bool up() const { return op == Op::kGe || op == Op::kGt; }  // good side is above
};
// Throws Error(kExitUsage) naming the position of the problem.
GateExpr parse_gate(const std::string& text);
// One expression per line; '#' starts a comment; blank lines are skipped.
std::vector<GateExpr> parse_gate_file(const std::string& path);
// The --gate expressions, then the --gate-file's (when `file` is not empty).
std::vector<GateExpr> parse_gates(const std::vector<std::string>& exprs,
                                  const std::string& file = "");
// The metric keys the gates name (compare() computes these even when hidden).
std::vector<std::string> gate_keys(const std::vector<GateExpr>& gate);

struct Check {
  std::string expr;  // the expression's text
  std::string key;   // its key (tput, pool_lock_hold_ns.p95, ...)
  std::string scope;
  bool relative = false;
  Outcome outcome = Outcome::kInconclusive;
  std::string reason;
  // Evidence (NaN / invalid when the check could not be tested). Relative:
  // the HL change in percent and its interval; absolute: the candidate's
  // median and its order-statistic interval. Both at the level tested.
  double estimate = 0;
  stats::Interval ci;
  std::size_t n_base = 0, n_cand = 0;  // runs tested
  // One-sided p of "the candidate is on the wrong side of the margin (or at
  // it)" (small: PASS) and of "on the good side (or at it)" (small: FAIL);
  // p_fail_adj: Holm over the gate's FAIL family.
  double p_pass = 1, p_fail = 1, p_fail_adj = 1;
  double level = 0;        // alpha of this check's tests (a look's share when sequential)
  bool in_family = false;  // counted in the FAIL family
  std::size_t look = 0;    // sequential: the look (runs per side) that decided it; 0 = none
  // Undecided checks: runs per side that would likely decide it, 0 when not
  // estimated; `hint` says how it was estimated.
  std::size_t runs_needed = 0;
  std::string hint;
};

struct Report {
  Options opt;
  std::string base_path, cand_path;
  std::size_t base_profiles = 0, cand_profiles = 0;
  std::size_t base_runs = 0, cand_runs = 0;
  std::string base_kernel, cand_kernel;       // distinct kernel releases, comma separated
  std::vector<std::string> scopes;            // in both sides, in first-seen order
  std::vector<std::string> one_sided_scopes;  // in one side only (not compared)
  std::vector<Row> rows;
  std::vector<std::string> metric_names;  // metrics either side recorded (any status)
  std::vector<std::string> notes;         // shown under the tables
  // Reasons every check is inconclusive (facts that must match do not);
  // `lock_blockers` apply to lock-metric checks only.
  std::vector<std::string> blockers, lock_blockers;
  // Losses beyond --max-loss, per scope and metric: a check is blocked by
  // those of its own metric (metric empty: a profile without per-metric loss
  // accounting, whose losses block every lock metric of the scope). The
  // workload's figures are counted by the workload, not by BPF: no loss
  // blocks them.
  struct Loss {
    std::string scope, metric, what;
  };
  std::vector<Loss> lossy;

  bool gated = false;
  std::vector<Check> checks;
  std::size_t family = 0;  // distinct (row, direction) hypotheses in the FAIL family
  std::size_t looks = 0;   // sequential: looks evaluated
  Outcome outcome = Outcome::kPass;
  int exit_code = 0;

  const Row* find(const std::string& scope, const std::string& key) const;
};

// Compares every key found in either side (plus `extra_keys`) in every
// common scope. Throws Error(kExitUsage) for mismatched sides.
Report compare(const Side& base, const Side& cand, const Options& opt,
               const std::vector<std::string>& extra_keys = {});
// Evaluates the gate on the report at level `level` (0: opt.alpha); sets
// checks, outcome and exit_code. Throws Error(kExitUsage) for a metric,
// statistic or scope that neither side knows.
void apply_gate(Report& r, const std::vector<GateExpr>& gate, double level = 0);

// Sequential gate (Options::sequential = N runs per side planned): the share
// of alpha each look j = 1..N may spend, alpha * ((j/N)^2 - (i/N)^2) with i
// the previous look that could use its share. A look whose run count cannot
// let every kind of check in the gate reach its share (relative: 1 / C(2j, j),
// absolute: 0.5^j) passes it on. Sums to <= alpha; depends only on the plan.
std::vector<double> look_levels(double alpha, std::size_t planned, bool absolute_checks);
// Replays the looks on run prefixes (1, 2, ... runs per side, in file order):
// every check keeps the first decision any look reaches; the report is the
// last look's, with those decisions. Throws Error(kExitUsage) when a side has
// more runs per scope than planned.
Report compare_sequential(const Side& base, const Side& cand, const Options& opt,
                          const std::vector<GateExpr>& gate);
// compare_sequential when opt.sequential > 0, else compare + apply_gate.
Report evaluate(const Side& base, const Side& cand, const Options& opt,
                const std::vector<GateExpr>& gate);
// Every gate check decided (PASS or REGRESSION), or no gate.
bool decided(const Report& r);

struct RenderOptions {
  int width = 0;  // text: terminal columns; 0 = no limit
};
std::string render_text(const Report& r, const RenderOptions& o = {});
std::string render_markdown(const Report& r);
std::string render_json(const Report& r);
// One HTML page: verdict, gate checks, run-level table, notes, then `pictures`
// (an SVG document, e.g. output::render_diff_svg) inline.
std::string render_html(const Report& r, const std::string& pictures);
// One SVG: the verdict and run-level table as text above `pictures`.
std::string render_svg(const Report& r, const std::string& pictures);

}  // namespace lockscope::diff
