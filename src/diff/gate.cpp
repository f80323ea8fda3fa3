// SPDX-License-Identifier: Apache-2.0
// Gate expressions: parsing and evaluation against a diff report.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <fmt/ranges.h>

#include "format.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/diff/diff.hpp"

namespace lockscope::diff {

namespace {

const char* kGrammarHint =
    "write KEY[SCOPE] OP NUMBER[%], e.g. 'tput[cache] >= +5%' or "
    "'wakeups_under_pool_lock.share <= 0.01' (see docs/diff.md)";

[[noreturn]] void bad(const std::string& text, size_t pos, const std::string& what) {
  throw usage_error(
      "bad gate expression '" + text + "' at column " + std::to_string(pos + 1) + ": " + what,
      kGrammarHint);
}

bool ident_start(char c) { return std::islower(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) {
  return std::islower(static_cast<unsigned char>(c)) ||
         std::isdigit(static_cast<unsigned char>(c)) || c == '_';
}
bool scope_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

const char* op_text(GateExpr::Op op) {
  switch (op) {
    case GateExpr::Op::kLe: return "<=";
    case GateExpr::Op::kLt: return "<";
    case GateExpr::Op::kGe: return ">=";
    case GateExpr::Op::kGt: return ">";
  }
  return "?";
}

bool good(GateExpr::Op op, double x, double t) {
  switch (op) {
    case GateExpr::Op::kLe: return x <= t;
    case GateExpr::Op::kLt: return x < t;
    case GateExpr::Op::kGe: return x >= t;
    case GateExpr::Op::kGt: return x > t;
  }
  return false;
}

std::string threshold_text(const GateExpr& g) {
  return g.relative ? fmtx::pct(g.threshold) : fmt::format("{:g}", g.threshold);
}

std::string side_problem(const char* side, const Values& v) {
  size_t bad_runs = v.unavailable + v.missing;
  return fmt::format("{}: {} ({} of {} runs)", side, v.reason, bad_runs, v.runs);
}

bool known_metric(const std::string& name, const Report& r) {
  for (const char* m :
       {metric::kPoolLockHold, metric::kWakeupsUnderPoolLock, metric::kRqLockNested,
        metric::kPoolLockWait, metric::kRqLockWait, metric::kWqQueueLatency, metric::kWqExec})
    if (name == m) return true;
  return std::find(r.metric_names.begin(), r.metric_names.end(), name) != r.metric_names.end();
}

}  // namespace

GateExpr parse_gate(const std::string& raw) {
  GateExpr g;
  size_t b = raw.find_first_not_of(" \t\r\n");
  size_t e = raw.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) throw usage_error("empty gate expression", kGrammarHint);
  g.text = raw.substr(b, e - b + 1);
  const std::string& s = g.text;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };

  // key
  if (!ident_start(s[i])) bad(s, i, "expected a metric name (tput, p95, METRIC.STAT)");
  size_t k0 = i;
  while (i < s.size() && ident_char(s[i])) ++i;
  std::string name = s.substr(k0, i - k0);
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t s0 = i;
    while (i < s.size() && ident_char(s[i])) ++i;
    std::string stat = s.substr(s0, i - s0);
    if (stat != "p50" && stat != "p95" && stat != "p99" && stat != "count" && stat != "share")
      bad(s, s0, "unknown statistic '" + stat + "' (use p50, p95, p99, count or share)");
    if (is_workload_key(name)) bad(s, k0, "'" + name + "' takes no statistic");
    g.key = name + "." + stat;
  } else {
    if (!is_workload_key(name))
      bad(s, k0,
          "'" + name + "' needs a statistic (" + name +
              ".p95, .count, .share, ...) or is not one of tput, p50, p90, p95, p99");
    g.key = name;
  }
  // [scope]
  if (i < s.size() && s[i] == '[') {
    size_t s0 = ++i;
    while (i < s.size() && scope_char(s[i])) ++i;
    if (i == s0) bad(s, i, "expected a scope name inside [ ]");
    if (i >= s.size() || s[i] != ']') bad(s, i, "expected ']'");
    g.scope = s.substr(s0, i - s0);
    ++i;
  }
  skip_ws();
  // operator
  if (s.compare(i, 2, "<=") == 0) {
    g.op = GateExpr::Op::kLe;
    i += 2;
  } else if (s.compare(i, 2, ">=") == 0) {
    g.op = GateExpr::Op::kGe;
    i += 2;
  } else if (i < s.size() && s[i] == '<') {
    g.op = GateExpr::Op::kLt;
    ++i;
  } else if (i < s.size() && s[i] == '>') {
    g.op = GateExpr::Op::kGt;
    ++i;
  } else
    bad(s, i, "expected one of <=, >=, <, >");
  skip_ws();
  // number
  size_t n0 = i;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t d0 = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t f0 = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == f0) bad(s, i, "expected digits after '.'");
  }
  if (i == d0) bad(s, i, "expected a number");
  {
    // strtod, not std::stod: out-of-range numbers are an input error, not an exception.
    std::string num = s.substr(n0, i - n0);
    errno = 0;
    double v = std::strtod(num.c_str(), nullptr);
    if (errno == ERANGE || !std::isfinite(v)) bad(s, n0, "number out of range");
    g.threshold = v;
  }
  if (i < s.size() && s[i] == '%') {
    g.relative = true;
    ++i;
  }
  skip_ws();
  if (i != s.size()) bad(s, i, "unexpected '" + s.substr(i) + "'");
  if (!g.relative && g.key.size() > 6 && g.key.compare(g.key.size() - 6, 6, ".share") == 0 &&
      (g.threshold < 0 || g.threshold > 1))
    bad(s, n0, "a share is between 0 and 1 (use % for a relative change)");
  return g;
}

std::vector<GateExpr> parse_gate_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw usage_error("cannot read gate file " + path, "pass an existing file to --gate-file");
  std::vector<GateExpr> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      out.push_back(parse_gate(line));
    } catch (const Error& e) {
      throw usage_error(path + ":" + std::to_string(lineno) + ": " + e.what(), e.hint());
    }
  }
  if (out.empty()) throw usage_error("gate file " + path + " holds no expression", kGrammarHint);
  return out;
}

std::vector<GateExpr> parse_gates(const std::vector<std::string>& exprs, const std::string& file) {
  std::vector<GateExpr> out;
  out.reserve(exprs.size());
  for (const auto& e : exprs) out.push_back(parse_gate(e));
  if (!file.empty())
    for (auto& g : parse_gate_file(file)) out.push_back(std::move(g));
  return out;
}

std::vector<std::string> gate_keys(const std::vector<GateExpr>& gate) {
  std::vector<std::string> keys;
  keys.reserve(gate.size());
  for (const auto& g : gate) keys.push_back(g.key);
  return keys;
}

void apply_gate(Report& r, const std::vector<GateExpr>& gate) {
  r.gated = !gate.empty();
  r.checks.clear();
  struct Pending {
    const GateExpr* g;
    const Row* row;
    std::vector<std::string> blockers;
  };
  std::vector<Pending> pending;

  for (const auto& g : gate) {
    if (!is_workload_key(g.key)) {
      std::string name = g.key.substr(0, g.key.rfind('.'));
      if (!known_metric(name, r))
        throw usage_error("gate '" + g.text + "': unknown metric '" + name + "'",
                          "metrics are named as in the profile (e.g. pool_lock_hold_ns)");
    }
    std::vector<std::string> scopes;
    if (g.scope.empty()) {
      scopes = r.scopes;
    } else if (std::find(r.scopes.begin(), r.scopes.end(), g.scope) != r.scopes.end()) {
      scopes = {g.scope};
    } else if (std::find(r.one_sided_scopes.begin(), r.one_sided_scopes.end(), g.scope) !=
               r.one_sided_scopes.end()) {
      Check c;
      c.expr = g.text;
      c.key = g.key;
      c.scope = g.scope;
      c.reason = "scope " + g.scope + " is in one side only";
      r.checks.push_back(c);
      continue;
    } else {
      throw usage_error("gate '" + g.text + "': no runs of scope '" + g.scope + "' in either side",
                        "scopes in both sides: " + fmt::format("{}", fmt::join(r.scopes, ", ")));
    }
    for (const auto& sc : scopes) {
      const Row* row = r.find(sc, g.key);
      Pending p{&g, row, {}};
      if (!row) {
        p.blockers.push_back(g.key + " not computed");
        pending.push_back(p);
        continue;
      }
      p.blockers = r.blockers;
      if (!is_workload_key(g.key))
        p.blockers.insert(p.blockers.end(), r.lock_blockers.begin(), r.lock_blockers.end());
      for (const auto& [lsc, what] : r.lossy)
        if (lsc == sc) p.blockers.push_back(what);
      if (g.relative && !row->base.complete())
        p.blockers.push_back(side_problem("baseline", row->base));
      if (!row->cand.complete()) p.blockers.push_back(side_problem("candidate", row->cand));
      pending.push_back(p);
    }
  }

  // The Holm family: relative checks with a Mann-Whitney p-value.
  std::vector<double> ps;
  for (const auto& p : pending)
    if (p.row && p.g->relative && p.row->tested) ps.push_back(p.row->mw.p);
  std::vector<double> adj = stats::holm(ps);
  size_t m = ps.size(), fi = 0;
  double alpha = r.opt.alpha;

  for (auto& p : pending) {
    const GateExpr& g = *p.g;
    Check c;
    c.expr = g.text;
    c.key = g.key;
    c.scope = p.row ? p.row->scope : g.scope;
    if (p.row && g.relative && p.row->tested) {
      c.in_family = true;
      c.p = p.row->mw.p;
      c.p_holm = adj[fi++];
    }
    auto finish = [&](Outcome o, std::string why) {
      c.outcome = o;
      c.reason = std::move(why);
      r.checks.push_back(c);
    };
    if (!p.row || !p.blockers.empty()) {  // no row: the blockers say why
      std::string why;
      for (const auto& b : p.blockers) why += (why.empty() ? "" : "; ") + b;
      finish(Outcome::kInconclusive, why);
      continue;
    }
    const Row& row = *p.row;
    size_t nb = row.base.v.size(), nc = row.cand.v.size();
    std::string thr = threshold_text(g);
    if (g.relative) {
      if (nb < 2 || nc < 2) {
        finish(Outcome::kInconclusive,
               fmt::format("too few runs: {} vs {} (delta {}); at least 2 per side for a "
                           "confidence interval, {} per side to reach p < {:g}",
                           nb, nc, fmtx::pct(row.delta_pct), stats::runs_needed(alpha), alpha));
        continue;
      }
      if (stats::min_p_value(nb, nc) > alpha) {
        finish(Outcome::kInconclusive,
               fmt::format("too few runs: {} vs {} cannot reach p < {:g} (smallest possible p = "
                           "{:.3g}; delta {}); {} runs per side can",
                           nb, nc, alpha, stats::min_p_value(nb, nc), fmtx::pct(row.delta_pct),
                           stats::runs_needed(alpha)));
        continue;
      }
      if (std::isnan(row.delta_pct) || !row.ci.valid) {
        finish(Outcome::kInconclusive,
               "baseline median (or a resampled one) is 0: relative change undefined; use an "
               "absolute threshold");
        continue;
      }
      std::string est = fmt::format("delta {}, {:g}% CI [{}, {}]", fmtx::pct(row.delta_pct),
                                    100 * (1 - alpha), fmtx::pct(row.ci.lo), fmtx::pct(row.ci.hi));
      bool lo_ok = good(g.op, row.ci.lo, g.threshold), hi_ok = good(g.op, row.ci.hi, g.threshold);
      if (lo_ok && hi_ok) {
        finish(Outcome::kPass, fmt::format("{} entirely {} {}", est, op_text(g.op), thr));
      } else if (!lo_ok && !hi_ok) {
        std::string ps_text =
            fmt::format("p = {}, Holm-adjusted p = {} over {} test{}", fmtx::pvalue(c.p),
                        fmtx::pvalue(c.p_holm), m, m == 1 ? "" : "s");
        if (c.p_holm < alpha) {
          finish(Outcome::kRegression, fmt::format("{} entirely beyond the margin {}; {} < {:g}",
                                                   est, thr, ps_text, alpha));
        } else {
          std::string why = fmt::format("{} beyond the margin {}, but not significant: {} >= {:g}",
                                        est, thr, ps_text, alpha);
          if (stats::min_p_value(nb, nc) * double(m) > alpha) {
            size_t k = stats::runs_needed(alpha / double(m));
            why += fmt::format(" ({} vs {} runs cannot reach it; {} runs per side can)", nb, nc, k);
          }
          finish(Outcome::kInconclusive, why);
        }
      } else {
        finish(Outcome::kInconclusive, fmt::format("{} straddles the margin {}", est, thr));
      }
    } else {
      if (!row.cand_ci.valid) {
        finish(Outcome::kInconclusive,
               fmt::format("too few runs: {} candidate run{} (median {}); a distribution-free "
                           "{:g}% CI of the median needs {}",
                           nc, nc == 1 ? "" : "s", fmtx::value(g.key, row.cand.median),
                           100 * (1 - alpha), stats::median_ci_min_runs(1 - alpha)));
        continue;
      }
      std::string est =
          fmt::format("candidate median {}, {:g}% CI [{}, {}]", fmtx::value(g.key, row.cand.median),
                      100 * (1 - alpha), fmtx::value(g.key, row.cand_ci.lo),
                      fmtx::value(g.key, row.cand_ci.hi));
      bool lo_ok = good(g.op, row.cand_ci.lo, g.threshold),
           hi_ok = good(g.op, row.cand_ci.hi, g.threshold);
      if (lo_ok && hi_ok)
        finish(Outcome::kPass, fmt::format("{} entirely {} {}", est, op_text(g.op), thr));
      else if (!lo_ok && !hi_ok)
        finish(Outcome::kRegression, fmt::format("{} entirely beyond {}", est, thr));
      else
        finish(Outcome::kInconclusive, fmt::format("{} straddles {}", est, thr));
    }
  }

  bool any_reg = false, any_inc = false;
  for (const auto& c : r.checks) {
    any_reg |= c.outcome == Outcome::kRegression;
    any_inc |= c.outcome == Outcome::kInconclusive;
  }
  r.outcome = any_reg ? Outcome::kRegression : any_inc ? Outcome::kInconclusive : Outcome::kPass;
  r.exit_code = any_reg ? kExitGateFailed : any_inc ? kExitInconclusive : kExitOk;
}

}  // namespace lockscope::diff
