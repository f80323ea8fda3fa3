// SPDX-License-Identifier: Apache-2.0
// Text (the seed table's layout), Markdown and JSON renderings of a diff.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "format.hpp"
#include "lockscope/diff/diff.hpp"

namespace lockscope::diff {

namespace {

std::string label(const std::string& key) {
  if (key == "tput") return "tput (items/s)";
  if (is_workload_key(key)) return key + " latency (ns)";
  std::string s = key;
  std::replace(s.begin(), s.end(), '.', ' ');
  return s;
}

std::string cell(const Row& row, const Values& v) {
  if (v.complete()) return fmtx::value(row.key, v.median);
  if (v.unavailable) return "unavailable";
  return "missing";
}

// "*" significant, "~" these run counts cannot reach alpha, "" otherwise.
std::string marker(const Row& row, double alpha) {
  if (!row.comparable()) return "";
  if (!row.tested) return "~";
  if (row.mw.p < alpha) return "*";
  if (stats::min_p_value(row.base.v.size(), row.cand.v.size()) > alpha) return "~";
  return "";
}

std::string delta_cell(const Row& row, double alpha) {
  if (!row.comparable()) return "n/a";
  std::string m = marker(row, alpha);
  return fmtx::pct(row.delta_pct) + (m.empty() ? "" : " " + m);
}

std::string ci_cell(const Row& row) {
  if (!row.comparable() || !row.tested || !row.ci.valid) return "-";
  return "[" + fmtx::pct(row.ci.lo) + ", " + fmtx::pct(row.ci.hi) + "]";
}

std::string p_cell(const Row& row) {
  if (!row.comparable() || !row.tested) return "-";
  return fmtx::pvalue(row.mw.p);
}

std::string runs_cell(const Row& row) {
  return std::to_string(row.base.v.size()) + "/" + std::to_string(row.cand.v.size());
}

std::vector<std::string> detail_keys(const Report& r) {
  std::vector<std::string> keys = shown_keys();
  for (const auto& c : r.checks)
    if (!c.key.empty() && std::find(keys.begin(), keys.end(), c.key) == keys.end())
      keys.push_back(c.key);
  return keys;
}

std::string side_text(const std::string& path, size_t profiles, size_t runs,
                      const std::string& kernel) {
  return fmt::format("{} ({} profile{}, {} run{}, kernel {})", path, profiles,
                     profiles == 1 ? "" : "s", runs, runs == 1 ? "" : "s", kernel);
}

using Table = std::vector<std::vector<std::string>>;

// Plain text: first column left-aligned, others right-aligned, two spaces
// between columns, dashes under the header.
std::string text_table(const Table& t, size_t left_cols = 1) {
  std::vector<size_t> w(t[0].size(), 0);
  for (const auto& row : t)
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) l += "  ";
      l +=
          i < left_cols ? fmt::format("{:<{}}", row[i], w[i]) : fmt::format("{:>{}}", row[i], w[i]);
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(t[0]);
  std::vector<std::string> dashes;
  dashes.reserve(w.size());
  for (size_t x : w) dashes.emplace_back(x, '-');
  line(dashes);
  for (size_t i = 1; i < t.size(); ++i) line(t[i]);
  return out;
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '~' || c == '|' || c == '_' || c == '[' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

std::string md_table(const Table& t, size_t left_cols = 1) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    out += "|";
    for (const auto& c : t[i]) out += " " + md_escape(c) + " |";
    out += "\n";
    if (i == 0) {
      out += "|";
      for (size_t j = 0; j < t[0].size(); ++j) out += j < left_cols ? "---|" : "---:|";
      out += "\n";
    }
  }
  return out;
}

// Neither side recorded this key in this scope at all (not even as
// unavailable): e.g. test_workqueue's per-scope runs carry no lock metrics,
// which live in its scope "all" run. Such rows are left out of the tables
// unless a gate asks about that key in that scope.
bool absent(const Row& row) {
  return row.base.v.empty() && row.cand.v.empty() && row.base.unavailable == 0 &&
         row.cand.unavailable == 0;
}

bool gated(const Report& r, const std::string& scope, const std::string& key) {
  for (const auto& c : r.checks)
    if (c.key == key && c.scope == scope) return true;
  return false;
}

Table seed_table(const Report& r) {
  Table t = {
      {"affinity_scope", "baseline (items/s)", "patched (items/s)", "tput gain", "p95 drop"}};
  for (const auto& sc : r.scopes) {
    const Row* tp = r.find(sc, "tput");
    const Row* lat = r.find(sc, "p95");
    if (absent(*tp) && absent(*lat)) continue;
    t.push_back({sc, cell(*tp, tp->base), cell(*tp, tp->cand), delta_cell(*tp, r.opt.alpha),
                 delta_cell(*lat, r.opt.alpha)});
  }
  return t;
}

Table detail_table(const Report& r) {
  Table t = {{"scope", "metric", "runs", "baseline", "patched", "delta",
              fmt::format("{:g}% CI of delta", 100 * (1 - r.opt.alpha)), "p"}};
  std::vector<std::string> keys = detail_keys(r);
  for (const auto& sc : r.scopes)
    for (const auto& k : keys) {
      const Row* row = r.find(sc, k);
      if (!row || (absent(*row) && !gated(r, sc, k))) continue;
      t.push_back({sc, label(k), runs_cell(*row), cell(*row, row->base), cell(*row, row->cand),
                   delta_cell(*row, r.opt.alpha), ci_cell(*row), p_cell(*row)});
    }
  return t;
}

std::vector<std::string> legend(const Report& r) {
  return {
      fmt::format("* p < {:g}: two-sided Mann-Whitney U test over per-run values (not adjusted "
                  "for multiple comparisons; gates apply Holm)",
                  r.opt.alpha),
      fmt::format("~ no significance possible with these run counts at {:g}", r.opt.alpha),
      std::string("delta = 100 * (patched median / baseline median - 1); ") +
          "p95 drop is the change in the p95 enqueue latency (negative is better)",
      fmt::format("{:g}% CI: percentile bootstrap of delta, {} resamples, seed {}",
                  100 * (1 - r.opt.alpha), r.opt.bootstrap, r.opt.seed),
      std::string("unavailable: the profile says the metric could not be measured; ") +
          "missing: not recorded; rows neither side recorded are left out",
  };
}

Table gate_table(const Report& r) {
  Table t = {{"outcome", "expression", "scope", "reason"}};
  for (const auto& c : r.checks) t.push_back({outcome_name(c.outcome), c.expr, c.scope, c.reason});
  return t;
}

std::string gate_summary(const Report& r) {
  size_t fam = 0;
  for (const auto& c : r.checks) fam += c.in_family;
  return fmt::format("gate: {} (exit {}); alpha {:g}, Holm over {} relative test{}",
                     outcome_name(r.outcome), r.exit_code, r.opt.alpha, fam, fam == 1 ? "" : "s");
}

nlohmann::json num(double v) {
  if (std::isnan(v) || std::isinf(v)) return nullptr;
  return v;
}

nlohmann::json values_json(const Values& v) {
  nlohmann::json j = {{"runs", v.runs},
                      {"values", v.v},
                      {"median", v.complete() ? num(v.median) : nlohmann::json(nullptr)},
                      {"unavailable", v.unavailable},
                      {"missing", v.missing}};
  if (!v.reason.empty()) j["reason"] = v.reason;
  j["status"] = v.complete() ? "ok" : v.unavailable ? "unavailable" : "missing";
  return j;
}

}  // namespace

std::string render_text(const Report& r) {
  std::string out;
  out += "baseline: " + side_text(r.base_path, r.base_profiles, r.base_runs, r.base_kernel) + "\n";
  out +=
      "patched:  " + side_text(r.cand_path, r.cand_profiles, r.cand_runs, r.cand_kernel) + "\n\n";
  out += text_table(seed_table(r));
  out += "\n";
  out += text_table(detail_table(r), 2);
  out += "\n";
  for (const auto& l : legend(r)) out += l + "\n";
  if (!r.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& n : r.notes) out += "  " + n + "\n";
  }
  if (r.gated) {
    out += "\n" + text_table(gate_table(r), 4);
    out += gate_summary(r) + "\n";
  }
  return out;
}

std::string render_markdown(const Report& r) {
  std::string out;
  out += "**lockscope diff**\n\n";
  out += "- baseline: " +
         md_escape(side_text(r.base_path, r.base_profiles, r.base_runs, r.base_kernel)) + "\n";
  out += "- patched: " +
         md_escape(side_text(r.cand_path, r.cand_profiles, r.cand_runs, r.cand_kernel)) + "\n\n";
  if (r.gated) out += "**" + md_escape(gate_summary(r)) + "**\n\n";
  out += md_table(seed_table(r));
  out += "\n";
  out += md_table(detail_table(r), 2);
  out += "\n";
  for (const auto& l : legend(r)) out += md_escape(l) + "  \n";
  if (!r.notes.empty()) {
    out += "\nNotes:\n\n";
    for (const auto& n : r.notes) out += "- " + md_escape(n) + "\n";
  }
  if (r.gated) out += "\n" + md_table(gate_table(r), 4);
  return out;
}

std::string render_json(const Report& r) {
  using nlohmann::json;
  json rows = json::array();
  for (const auto& row : r.rows) {
    json j = {{"scope", row.scope},
              {"key", row.key},
              {"baseline", values_json(row.base)},
              {"candidate", values_json(row.cand)},
              {"delta_pct", row.comparable() ? num(row.delta_pct) : json(nullptr)}};
    if (row.cand_ci.valid)
      j["ci_candidate_median"] = json::array({num(row.cand_ci.lo), num(row.cand_ci.hi)});
    if (row.tested) {
      j["ci_delta_pct"] =
          row.ci.valid ? json::array({num(row.ci.lo), num(row.ci.hi)}) : json(nullptr);
      j["mann_whitney"] = {{"u", row.mw.u}, {"p", row.mw.p}, {"exact", row.mw.exact}};
      j["significant"] = row.mw.p < r.opt.alpha;
    } else {
      j["significant"] = nullptr;
    }
    rows.push_back(j);
  }
  json checks = json::array();
  for (const auto& c : r.checks) {
    json j = {{"expression", c.expr},
              {"key", c.key},
              {"scope", c.scope},
              {"outcome", outcome_name(c.outcome)},
              {"reason", c.reason}};
    if (c.in_family) {
      j["p"] = c.p;
      j["p_holm"] = c.p_holm;
    }
    checks.push_back(j);
  }
  json j = {
      {"schema", "lockscope.diff"},
      {"version", 1},
      {"alpha", r.opt.alpha},
      {"bootstrap", r.opt.bootstrap},
      {"seed", r.opt.seed},
      {"baseline",
       {{"path", r.base_path},
        {"profiles", r.base_profiles},
        {"runs", r.base_runs},
        {"kernel", r.base_kernel}}},
      {"candidate",
       {{"path", r.cand_path},
        {"profiles", r.cand_profiles},
        {"runs", r.cand_runs},
        {"kernel", r.cand_kernel}}},
      {"scopes", r.scopes},
      {"rows", rows},
      {"notes", r.notes},
  };
  if (r.gated)
    j["gate"] = {
        {"outcome", outcome_name(r.outcome)}, {"exit_code", r.exit_code}, {"checks", checks}};
  return j.dump(2) + "\n";
}

}  // namespace lockscope::diff
