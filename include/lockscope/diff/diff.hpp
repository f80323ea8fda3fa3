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

struct Options {
  double alpha = 0.05;
  uint64_t seed = 1;
  std::size_t bootstrap = 10000;
  // A run that lost more than this fraction of its events (Run::loss_fraction)
  // makes the comparison of its scope inconclusive. 0 = any loss does.
  double max_loss = 0.0;
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

// What is compared, as named in gate expressions:
//   tput                          workload items per second
//   p50 | p90 | p95 | p99         workload (enqueue) latency percentile
//   METRIC.p50 | .p95 | .p99      percentile of a lock metric's histogram
//   METRIC.count | METRIC.share   event count, count / total
bool is_workload_key(const std::string& key);
// The keys every table shows, recorded or not (missing ones say so).
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
  double delta_pct = 0;     // 100 * (cand median / base median - 1); NaN if undefined
  stats::Interval ci;       // bootstrap CI of delta_pct (level 1 - alpha)
  stats::Interval cand_ci;  // order-statistic CI of the candidate median (absolute gates)
  stats::MannWhitney mw;
  bool tested = false;  // both sides complete with >= 2 runs: mw is meaningful
  bool comparable() const { return base.complete() && cand.complete(); }
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
  bool relative = false;  // threshold on delta % (else on the candidate median)
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
  Outcome outcome = Outcome::kInconclusive;
  std::string reason;
  double p = 1, p_holm = 1;
  bool in_family = false;  // counted in the Holm family
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
  // Per scope: lossy runs (drops or recursion misses), described.
  std::vector<std::pair<std::string, std::string>> lossy;

  bool gated = false;
  std::vector<Check> checks;
  Outcome outcome = Outcome::kPass;
  int exit_code = 0;

  const Row* find(const std::string& scope, const std::string& key) const;
};

// Compares every key found in either side (plus `extra_keys`) in every
// common scope. Throws Error(kExitUsage) for mismatched sides.
Report compare(const Side& base, const Side& cand, const Options& opt,
               const std::vector<std::string>& extra_keys = {});
// Evaluates the gate on the report; sets checks, outcome and exit_code.
// Throws Error(kExitUsage) for a metric or scope that neither side knows.
void apply_gate(Report& r, const std::vector<GateExpr>& gate);

std::string render_text(const Report& r);
std::string render_markdown(const Report& r);
std::string render_json(const Report& r);

}  // namespace lockscope::diff
