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
#include "internal.hpp"
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

std::string side_problem(const char* side, const Values& v) {
  size_t bad_runs = v.unavailable + v.missing;
  return fmt::format("{}: {} ({} of {} runs)", side, v.reason, bad_runs, v.runs);
}

// In the metric catalogue, or recorded by either side.
bool known_metric(const std::string& name, const Report& r) {
  return find_metric(name) ||
         std::find(r.metric_names.begin(), r.metric_names.end(), name) != r.metric_names.end();
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
    const auto& known = all_metric_stats();
    if (std::find(known.begin(), known.end(), stat) == known.end())
      bad(s, s0,
          "unknown statistic '" + stat + "' (use " + fmt::format("{}", fmt::join(known, ", ")) +
              ")");
    if (is_workload_key(name)) bad(s, k0, "'" + name + "' takes no statistic");
    g.key = name + "." + stat;
  } else {
    if (!is_workload_key(name))
      bad(s, k0,
          "'" + name + "' needs a statistic (" + name +
              ".p95, .mean, .count, .share, ...) or is not one of tput, p50, p90, p95, p99");
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
  bool sign = i < s.size() && (s[i] == '+' || s[i] == '-');
  if (sign) ++i;
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
  if (sign && !g.relative) {
    std::string mag = s.substr(n0 + 1, i - n0 - 1);
    while (!mag.empty() && (mag.back() == ' ' || mag.back() == '\t')) mag.pop_back();
    throw usage_error(
        "bad gate expression '" + s + "' at column " + std::to_string(n0 + 1) +
            ": a signed threshold needs '%'",
        fmt::format("write {}{}% for a change relative to the baseline, or {} for an absolute "
                    "value of the candidate's {}",
                    s[n0], mag, mag, g.key));
  }
  if (g.relative && g.threshold <= -100) bad(s, n0, "a relative threshold must be above -100%");
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

namespace {

// The key's statistic is one its metric offers in some row of the report.
bool row_has_values(const Report& r, const std::string& key) {
  for (const auto& row : r.rows)
    if (row.key == key && (!row.base.v.empty() || !row.cand.v.empty())) return true;
  return false;
}

std::vector<std::string> stats_in_rows(const Report& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& st : all_metric_stats())
    if (row_has_values(r, name + "." + st)) out.push_back(st);
  return out;
}

void check_names(const Report& r, const GateExpr& g) {
  if (is_workload_key(g.key)) return;
  std::string name = g.key.substr(0, g.key.rfind('.'));
  std::string stat = g.key.substr(g.key.rfind('.') + 1);
  if (!known_metric(name, r))
    throw usage_error(
        "gate '" + g.text + "': unknown metric '" + name + "'",
        r.metric_names.empty()
            ? std::string("these profiles hold no lock metrics (only tput, p50, "
                          "p90, p95, p99 of the workload)")
            : "metrics in these profiles: " + fmt::format("{}", fmt::join(r.metric_names, ", ")));
  if (std::find(r.metric_names.begin(), r.metric_names.end(), name) == r.metric_names.end())
    return;  // a known metric neither side recorded: the check says so
  bool any_values = false;
  for (const auto& row : r.rows)
    if (row.key.rfind(name + ".", 0) == 0 && (!row.base.v.empty() || !row.cand.v.empty()))
      any_values = true;
  if (!any_values || row_has_values(r, g.key)) return;  // unavailable everywhere: inconclusive
  std::vector<std::string> have = stats_in_rows(r, name);
  throw usage_error("gate '" + g.text + "': " + name + " has no " + stat + " in these profiles",
                    "it offers " + fmt::format("{}", fmt::join(have, ", ")));
}

// FAIL hypotheses of one row and direction are nested (a chain of margins):
// they form one group, and their p-values are made monotone along the chain.
struct Member {
  size_t check;
  std::string group;
  double strength;  // larger: a smaller null (harder to be true)
};

void holm_family(Report& r, const std::vector<Member>& fam) {
  std::vector<std::string> names;
  std::vector<size_t> gid;
  std::vector<double> p;
  for (const auto& m : fam) {
    auto it = std::find(names.begin(), names.end(), m.group);
    gid.push_back(size_t(it - names.begin()));
    if (it == names.end()) names.push_back(m.group);
    double pm = r.checks[m.check].p_fail;
    for (const auto& o : fam)
      if (o.group == m.group && o.strength >= m.strength)
        pm = std::max(pm, r.checks[o.check].p_fail);
    p.push_back(pm);
  }
  std::vector<double> adj = stats::holm_grouped(p, gid);
  for (size_t i = 0; i < fam.size(); ++i) r.checks[fam[i].check].p_fail_adj = adj[i];
  r.family = names.size();
}

}  // namespace

void apply_gate(Report& r, const std::vector<GateExpr>& gate, double level) {
  const double alpha = level > 0 ? level : r.opt.alpha;
  r.gated = !gate.empty();
  r.checks.clear();
  r.family = 0;
  struct Pending {
    const GateExpr* g;
    const Row* row;
    bool blocked;  // facts, losses or missing values: nothing was tested
    bool tested;   // in the FAIL family
  };
  std::vector<Pending> pending;

  for (const auto& g : gate) {
    check_names(r, g);
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
      c.relative = g.relative;
      c.level = alpha;
      c.reason = "scope " + g.scope + " is in one side only";
      r.checks.push_back(c);
      pending.push_back({&g, nullptr, true, false});
      continue;
    } else {
      throw usage_error("gate '" + g.text + "': no runs of scope '" + g.scope + "' in either side",
                        "scopes in both sides: " + fmt::format("{}", fmt::join(r.scopes, ", ")));
    }
    for (const auto& sc : scopes) {
      const Row* row = r.find(sc, g.key);
      Check c;
      c.expr = g.text;
      c.key = g.key;
      c.scope = sc;
      c.relative = g.relative;
      c.level = alpha;
      std::vector<std::string> blockers;
      if (!row) {
        blockers.push_back(g.key + " not computed");
      } else {
        blockers = r.blockers;
        if (!is_workload_key(g.key))
          blockers.insert(blockers.end(), r.lock_blockers.begin(), r.lock_blockers.end());
        const std::string metric = g.key.substr(0, g.key.find('.'));
        for (const auto& l : r.lossy)
          if (l.scope == sc && !is_workload_key(g.key) && (l.metric.empty() || l.metric == metric))
            blockers.push_back(l.what);
        if (g.relative && !row->base.complete())
          blockers.push_back(side_problem("baseline", row->base));
        if (!row->cand.complete()) blockers.push_back(side_problem("candidate", row->cand));
      }
      bool tested = false;
      if (row && blockers.empty()) {
        tested = detail::test_check(g, *row, alpha, c);
      } else {
        for (const auto& b : blockers) c.reason += (c.reason.empty() ? "" : "; ") + b;
      }
      r.checks.push_back(c);
      pending.push_back({&g, row, !blockers.empty(), tested});
    }
  }

  // The FAIL family: every check that was tested (its run counts can reach alpha).
  std::vector<Member> fam;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (!pending[i].tested) continue;
    const GateExpr& g = *pending[i].g;
    r.checks[i].in_family = true;
    fam.push_back({i,
                   r.checks[i].scope + '\0' + g.key + '\0' + (g.up() ? "up" : "down") +
                       (g.relative ? "%" : ""),
                   g.up() ? g.threshold : -g.threshold});
  }
  holm_family(r, fam);
  double fail_alpha = alpha / double(std::max<size_t>(r.family, 1));

  bool any_reg = false, any_inc = false;
  for (size_t i = 0; i < pending.size(); ++i) {
    Check& c = r.checks[i];
    if (pending[i].tested) {
      c.outcome = c.p_pass <= alpha       ? Outcome::kPass
                  : c.p_fail_adj <= alpha ? Outcome::kRegression
                                          : Outcome::kInconclusive;
    }
    if (!pending[i].blocked && pending[i].row)
      detail::explain(*pending[i].g, *pending[i].row, alpha, fail_alpha, c);
    any_reg |= c.outcome == Outcome::kRegression;
    any_inc |= c.outcome == Outcome::kInconclusive;
  }
  r.outcome = any_reg ? Outcome::kRegression : any_inc ? Outcome::kInconclusive : Outcome::kPass;
  r.exit_code = any_reg ? kExitGateFailed : any_inc ? kExitInconclusive : kExitOk;
  detail::mark_table(r);
}

}  // namespace lockscope::diff
