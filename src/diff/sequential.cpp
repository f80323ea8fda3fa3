// SPDX-License-Identifier: Apache-2.0
// The sequential gate: looks at growing run prefixes, each with its own
// share of alpha (a union bound over the looks: valid whatever the
// correlation between them), and the first decision of every check kept.
#include <algorithm>
#include <cmath>
#include <map>

#include "format.hpp"
#include "internal.hpp"
#include "lockscope/core/error.hpp"

namespace lockscope::diff {

std::vector<double> look_levels(double alpha, size_t planned, bool absolute_checks) {
  std::vector<double> out(planned, 0.0);
  auto spent = [&](size_t j) {
    double t = double(j) / double(planned);
    return alpha * t * t;
  };
  size_t prev = 0;
  for (size_t j = 1; j <= planned; ++j) {
    double share = spent(j) - spent(prev);
    double reach =
        std::max(stats::min_p_one_sided(j, j), absolute_checks ? std::pow(0.5, double(j)) : 0.0);
    if (reach <= share) {
      out[j - 1] = share;
      prev = j;
    }
  }
  return out;
}

namespace {

size_t max_runs_per_scope(const Side& s) {
  std::map<std::string, size_t> n;
  size_t most = 0;
  for (const auto& p : s.profiles)
    for (const auto& r : p.runs) most = std::max(most, ++n[r.scope]);
  return most;
}

}  // namespace

Report compare_sequential(const Side& base, const Side& cand, const Options& opt,
                          const std::vector<GateExpr>& gate) {
  const size_t planned = opt.sequential;
  size_t looks = std::max(max_runs_per_scope(base), max_runs_per_scope(cand));
  if (looks > planned)
    throw usage_error(
        fmt::format("--sequential {}: a side has {} runs of one scope, more than planned", planned,
                    looks),
        "give the planned maximum runs per side (e.g. ab's --max-boots) to --sequential");
  bool absolute =
      std::any_of(gate.begin(), gate.end(), [](const GateExpr& g) { return !g.relative; });
  std::vector<double> levels = look_levels(opt.alpha, planned, absolute);
  std::vector<std::string> keys = gate_keys(gate);
  std::map<std::pair<std::string, std::string>, Check> first;  // (expr, scope) -> decision
  Report last;
  for (size_t j = 1; j <= looks; ++j) {
    double level = levels[j - 1];
    if (level == 0 && j < looks) continue;
    last = compare(prefix(base, j), prefix(cand, j), opt, keys);
    apply_gate(last, gate, level > 0 ? level : opt.alpha);
    ++last.looks;
    for (auto& c : last.checks) {
      if (level == 0) {
        c.outcome = Outcome::kInconclusive;
        c.level = 0;
        c.reason = fmt::format(
            "look {} ({} runs per side planned) has no share of alpha: {} v {} runs cannot "
            "reach it; evidence at {:g}: {}",
            j, planned, c.n_base, c.n_cand, opt.alpha, c.reason);
        continue;
      }
      c.look = c.outcome == Outcome::kInconclusive ? 0 : j;
      auto [it, fresh] = first.emplace(std::make_pair(c.expr, c.scope), c);
      if (!fresh && it->second.outcome == Outcome::kInconclusive) it->second = c;
    }
  }
  // The last look's report, with every check's first decision.
  bool any_reg = false, any_inc = false;
  for (auto& c : last.checks) {
    auto it = first.find({c.expr, c.scope});
    if (it != first.end() && it->second.outcome != Outcome::kInconclusive) {
      c = it->second;
      c.reason = fmt::format("decided at look {} ({} v {} runs, level {:.3g}): {}", c.look,
                             c.n_base, c.n_cand, c.level, c.reason);
      c.hint.clear();
    }
    any_reg |= c.outcome == Outcome::kRegression;
    any_inc |= c.outcome == Outcome::kInconclusive;
  }
  last.outcome = any_reg ? Outcome::kRegression : any_inc ? Outcome::kInconclusive : Outcome::kPass;
  last.exit_code = any_reg ? kExitGateFailed : any_inc ? kExitInconclusive : kExitOk;
  last.looks = looks;
  std::string used;
  for (size_t j = 1; j <= planned; ++j)
    if (levels[j - 1] > 0)
      used += fmt::format("{}{}:{:.2g}", used.empty() ? "" : " ", j, levels[j - 1]);
  last.notes.push_back(fmt::format(
      "sequential gate: {} runs per side planned, {} look{} so far; alpha {:g} spent as "
      "alpha * (n/{})^2, levels per look (runs per side:level) {}",
      planned, looks, looks == 1 ? "" : "s", opt.alpha, planned, used));
  return last;
}

Report evaluate(const Side& base, const Side& cand, const Options& opt,
                const std::vector<GateExpr>& gate) {
  if (opt.sequential > 0 && !gate.empty()) return compare_sequential(base, cand, opt, gate);
  Report r = compare(base, cand, opt, gate_keys(gate));
  apply_gate(r, gate);
  return r;
}

bool decided(const Report& r) {
  return std::all_of(r.checks.begin(), r.checks.end(),
                     [](const Check& c) { return c.outcome != Outcome::kInconclusive; });
}

}  // namespace lockscope::diff
