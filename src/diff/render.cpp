// SPDX-License-Identifier: Apache-2.0
// Text (the seed table's layout), Markdown and JSON renderings of a diff.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "format.hpp"
#include "internal.hpp"
#include "lockscope/core/text.hpp"

namespace lockscope::diff {

namespace detail {

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

// "*" q <= alpha, "~" these run counts cannot reach alpha, "" otherwise.
std::string marker(const Row& row, double alpha) {
  if (!row.comparable()) return "";
  if (!row.tested || stats::min_p_value(row.base.v.size(), row.cand.v.size()) > alpha) return "~";
  return row.q <= alpha ? "*" : "";
}

// Relative change; for shares their change in percentage points.
std::string delta_cell(const Row* row, double alpha) {
  if (row && row->share) {
    std::string m = marker(*row, alpha);
    return fmtx::points(row->points.estimate) + (m.empty() ? "" : " " + m);
  }
  if (!row || !row->relative) return "n/a";
  std::string m = marker(*row, alpha);
  return fmtx::pct(row->delta_pct()) + (m.empty() ? "" : " " + m);
}

std::string points_interval_cell(const stats::Interval& ci) {
  if (!ci.valid) return "-";
  return fmt::format("[{}, {}] {:.0f}%", fmtx::points(ci.lo), fmtx::points(ci.hi),
                     std::floor(100 * ci.level));
}

std::string interval_cell(const stats::Interval& ci, bool pct, const std::string& key) {
  if (!ci.valid) return "-";
  auto v = [&](double x) { return pct ? fmtx::pct(x) : fmtx::value(key, x); };
  return fmt::format("[{}, {}] {:.0f}%", v(ci.lo), v(ci.hi), std::floor(100 * ci.level));
}

stats::Interval pct_interval(const stats::Interval& log_ci) {
  stats::Interval i = log_ci;
  i.lo = stats::log_ratio_pct(log_ci.lo);
  i.hi = stats::log_ratio_pct(log_ci.hi);
  return i;
}

std::string runs_cell(const Row& row) {
  return std::to_string(row.base.v.size()) + "/" + std::to_string(row.cand.v.size());
}

}  // namespace

std::string side_text(const std::string& path, size_t profiles, size_t runs,
                      const std::string& kernel) {
  return fmt::format("{} ({} profile{}, {} run{}, kernel {})", path, profiles,
                     profiles == 1 ? "" : "s", runs, runs == 1 ? "" : "s", kernel);
}

Table seed_table(const Report& r) {
  Table t = {
      {"affinity_scope", "baseline (items/s)", "patched (items/s)", "tput gain", "p95 drop"}};
  for (const auto& sc : r.scopes) {
    const Row* tp = r.find(sc, "tput");
    const Row* lat = r.find(sc, "p95");
    if (!tp || !tp->in_table) continue;
    t.push_back({sc, cell(*tp, tp->base), cell(*tp, tp->cand), delta_cell(tp, r.opt.alpha),
                 delta_cell(lat && lat->in_table ? lat : nullptr, r.opt.alpha)});
  }
  return t;
}

Table detail_table(const Report& r) {
  Table t = {{"scope", "metric", "runs", "baseline", "patched", "delta", "CI of delta", "p", "q"}};
  for (const auto& sc : r.scopes)
    for (const auto& k : table_keys(r, sc)) {
      const Row* row = r.find(sc, k);
      bool test = row->comparable() && row->tested;
      t.push_back({sc, label(k), runs_cell(*row), cell(*row, row->base), cell(*row, row->cand),
                   delta_cell(row, r.opt.alpha),
                   row->share      ? points_interval_cell(row->points.ci)
                   : row->relative ? interval_cell(pct_interval(row->shift.ci), true, k)
                                   : "-",
                   test ? fmtx::pvalue(row->mw.p) : "-", test ? fmtx::pvalue(row->q) : "-"});
    }
  return t;
}

std::vector<std::string> legend(const Report& r) {
  size_t tested = 0;
  for (const auto& row : r.rows) tested += row.in_table && row.tested;
  double a = r.opt.alpha;
  return {
      "delta: Hodges-Lehmann change, the median over all baseline x patched run pairs of "
      "patched / baseline - 1 (one run per side: their ratio); p95 drop is the change of the "
      "p95 enqueue latency (negative is better); shares are in percent and their delta is the "
      "same estimate of patched - baseline in percentage points (pp)",
      fmt::format("CI: interval of delta from the exact Mann-Whitney test, each end a one-sided "
                  "{:g}% bound (attained two-sided level shown, >= {:g}%); - where the run counts "
                  "cannot give it",
                  100 * (1 - a), 100 * (1 - 2 * a)),
      fmt::format("p: two-sided Mann-Whitney test of no change over per-run values; q: "
                  "Benjamini-Hochberg adjusted over the {} tested rows of this table; * q <= {:g}; "
                  "~ these run counts cannot reach {:g}",
                  tested, a, a),
      "unavailable: the profile says the metric could not be measured; missing: not recorded; "
      "rows neither side measured are left out",
  };
}

Table gate_table(const Report& r) {
  Table t = {
      {"outcome", "expression", "scope", "estimate [CI]", "p(pass)", "p(fail)", "Holm p(fail)"}};
  for (const auto& c : r.checks) {
    bool tested = c.in_family;
    std::string est = std::isnan(c.estimate) || c.n_cand == 0 ? "-"
                      : c.relative                            ? fmtx::pct(c.estimate)
                                                              : fmtx::value(c.key, c.estimate);
    if (c.ci.valid) est += " " + interval_cell(c.ci, c.relative, c.key);
    t.push_back({outcome_name(c.outcome), c.expr, c.scope, est,
                 tested ? fmtx::pvalue(c.p_pass) : "-", tested ? fmtx::pvalue(c.p_fail) : "-",
                 tested ? fmtx::pvalue(c.p_fail_adj) : "-"});
  }
  return t;
}

std::vector<std::string> check_lines(const Report& r) {
  std::vector<std::string> out;
  for (const auto& c : r.checks) {
    out.push_back(
        fmt::format("{} {} ({}): {}", outcome_name(c.outcome), c.expr, c.scope, c.reason));
    if (!c.hint.empty()) out.push_back("  to decide: " + c.hint);
  }
  return out;
}

std::string gate_summary(const Report& r) {
  size_t n[3] = {0, 0, 0};
  for (const auto& c : r.checks) ++n[int(c.outcome)];
  return fmt::format(
      "gate: {} (exit {}): {} PASS, {} REGRESSION, {} INCONCLUSIVE; alpha {:g}: PASS by each "
      "check's one-sided test, REGRESSION by Holm over {} hypothes{}",
      outcome_name(r.outcome), r.exit_code, n[0], n[1], n[2], r.opt.alpha, r.family,
      r.family == 1 ? "is" : "es");
}

}  // namespace detail

namespace {

using detail::Table;

std::string pad(const std::string& s, size_t w, bool left) {
  return left ? pad_right(s, w) : pad_left(s, w);
}

// Plain text: the first `left_cols` columns left-aligned, others right-aligned,
// two spaces between columns, dashes under the header. Wider than `width`
// (> 0): printed in parts, each repeating the first `key_cols` columns.
std::string text_table(const Table& t, size_t left_cols, int width, size_t key_cols) {
  std::vector<size_t> w(t[0].size(), 0);
  for (const auto& row : t)
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], display_width(row[i]));
  std::vector<std::vector<size_t>> parts;
  std::vector<size_t> cur;
  size_t keys_w = 0;
  for (size_t k = 0; k < key_cols && k < w.size(); ++k) {
    keys_w += w[k] + (k ? 2 : 0);
    cur.push_back(k);
  }
  size_t cur_w = keys_w;
  for (size_t i = cur.size(); i < w.size(); ++i) {
    size_t add = w[i] + (cur.empty() ? 0 : 2);
    if (width > 0 && cur.size() > key_cols && cur_w + add > size_t(width)) {
      parts.push_back(cur);
      cur.assign(parts.back().begin(), parts.back().begin() + long(key_cols));
      cur_w = keys_w;
      add = w[i] + (cur.empty() ? 0 : 2);
    }
    cur.push_back(i);
    cur_w += add;
  }
  parts.push_back(cur);
  std::string out;
  for (size_t p = 0; p < parts.size(); ++p) {
    if (p) out += "\n";
    auto line = [&](const std::vector<std::string>& row) {
      std::string l;
      for (size_t j = 0; j < parts[p].size(); ++j) {
        size_t c = parts[p][j];
        if (j) l += "  ";
        l += pad(row[c], w[c], c < left_cols);
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
  }
  return out;
}

// Words of `text` on lines of at most `width` columns (0: one line), the
// continuation lines indented by `indent`.
std::string wrap(const std::string& text, int width, const std::string& indent) {
  if (width <= 0 || display_width(text) <= size_t(width)) return text + "\n";
  size_t lead = text.find_first_not_of(' ');
  if (lead == std::string::npos) return text + "\n";
  std::string out, line = text.substr(0, lead);
  bool fresh = true;  // nothing but indentation on `line` yet
  for (size_t start = lead; start < text.size();) {
    size_t sp = text.find(' ', start);
    if (sp == std::string::npos) sp = text.size();
    std::string word = text.substr(start, sp - start);
    start = sp + 1;
    if (word.empty()) continue;
    if (!fresh && display_width(line) + 1 + display_width(word) > size_t(width)) {
      out += line + "\n";
      line = indent + text.substr(0, lead);
      fresh = true;
    }
    line += (fresh ? "" : " ") + word;
    fresh = false;
  }
  return out + line + "\n";
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

nlohmann::json num(double v) {
  if (std::isnan(v) || std::isinf(v)) return nullptr;
  return v;
}

nlohmann::json interval_json(const stats::Interval& i) {
  if (!i.valid) return nullptr;
  return {{"lo", num(i.lo)}, {"hi", num(i.hi)}, {"level", i.level}};
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

nlohmann::json row_json(const Row& row, double alpha) {
  using nlohmann::json;
  json j = {{"scope", row.scope},
            {"key", row.key},
            {"in_table", row.in_table},
            {"baseline", values_json(row.base)},
            {"candidate", values_json(row.cand)},
            {"median_change_pct", row.comparable() ? num(row.median_delta_pct) : json(nullptr)},
            {"change_pct", row.relative ? num(row.delta_pct()) : json(nullptr)},
            {"change_ci_pct", json(nullptr)}};
  if (row.relative && row.shift.ci.valid) {
    stats::Interval i = row.shift.ci;
    i.lo = stats::log_ratio_pct(i.lo);
    i.hi = stats::log_ratio_pct(i.hi);
    j["change_ci_pct"] = interval_json(i);
  }
  if (row.share) {  // shares: the change in percentage points
    stats::Interval i = row.points.ci;
    i.lo *= 100;
    i.hi *= 100;
    j["change_pp"] = num(100 * row.points.estimate);
    j["change_ci_pp"] = interval_json(i);
  }
  if (row.tested) {
    j["mann_whitney"] = {{"u_candidate", row.mw.u},
                         {"p_two_sided", row.mw.p},
                         {"p_candidate_greater", row.mw.p_greater},
                         {"p_candidate_less", row.mw.p_less},
                         {"exact", row.mw.exact}};
    j["q_bh"] = row.in_table ? json(row.q) : json(nullptr);
    j["significant_bh"] = row.in_table ? json(row.q <= alpha) : json(nullptr);
  } else {
    j["mann_whitney"] = nullptr;
    j["q_bh"] = nullptr;
    j["significant_bh"] = nullptr;
  }
  return j;
}

nlohmann::json check_json(const Check& c) {
  using nlohmann::json;
  bool t = c.in_family;
  return {{"expression", c.expr},
          {"key", c.key},
          {"scope", c.scope},
          {"kind", c.relative ? "relative" : "absolute"},
          {"outcome", outcome_name(c.outcome)},
          {"reason", c.reason},
          {"runs", {{"baseline", c.n_base}, {"candidate", c.n_cand}}},
          {"estimate", c.n_cand ? num(c.estimate) : json(nullptr)},
          {"ci", interval_json(c.ci)},
          {"level", c.level},
          {"in_family", c.in_family},
          {"p_pass", t ? json(c.p_pass) : json(nullptr)},
          {"p_fail", t ? json(c.p_fail) : json(nullptr)},
          {"p_fail_holm", t ? json(c.p_fail_adj) : json(nullptr)},
          {"look", c.look ? json(c.look) : json(nullptr)},
          {"runs_needed", c.runs_needed ? json(c.runs_needed) : json(nullptr)},
          {"runs_hint", c.hint.empty() ? json(nullptr) : json(c.hint)}};
}

}  // namespace

std::string render_text(const Report& r, const RenderOptions& o) {
  std::string out;
  out +=
      "baseline: " + detail::side_text(r.base_path, r.base_profiles, r.base_runs, r.base_kernel) +
      "\n";
  out +=
      "patched:  " + detail::side_text(r.cand_path, r.cand_profiles, r.cand_runs, r.cand_kernel) +
      "\n\n";
  out += text_table(detail::seed_table(r), 1, o.width, 1);
  out += "\n";
  out += text_table(detail::detail_table(r), 2, o.width, 2);
  out += "\n";
  for (const auto& l : detail::legend(r)) out += wrap(l, o.width, "  ");
  if (!r.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& n : r.notes) out += wrap("  " + n, o.width, "    ");
  }
  if (r.gated) {
    // The table when it fits; the lines below say everything it says.
    std::string table = text_table(detail::gate_table(r), 3, 0, 0);
    if (o.width <= 0 || display_width(table.substr(0, table.find('\n'))) <= size_t(o.width))
      out += "\n" + table;
    out += "\n";
    for (const auto& l : detail::check_lines(r)) out += wrap(l, o.width, "    ");
    out += wrap(detail::gate_summary(r), o.width, "  ");
  }
  return out;
}

std::string render_markdown(const Report& r) {
  std::string out;
  out += "**lockscope diff**\n\n";
  out += "- baseline: " +
         md_escape(detail::side_text(r.base_path, r.base_profiles, r.base_runs, r.base_kernel)) +
         "\n";
  out += "- patched: " +
         md_escape(detail::side_text(r.cand_path, r.cand_profiles, r.cand_runs, r.cand_kernel)) +
         "\n\n";
  if (r.gated) {
    out += "**" + md_escape(detail::gate_summary(r)) + "**\n\n";
    out += md_table(detail::gate_table(r), 3) + "\n";
    for (const auto& l : detail::check_lines(r))
      out += (l.rfind("  ", 0) == 0 ? "  - " + md_escape(l.substr(2)) : "- " + md_escape(l)) + "\n";
    out += "\n";
  }
  out += md_table(detail::seed_table(r));
  out += "\n";
  out += md_table(detail::detail_table(r), 2);
  out += "\n";
  for (const auto& l : detail::legend(r)) out += md_escape(l) + "  \n";
  if (!r.notes.empty()) {
    out += "\nNotes:\n\n";
    for (const auto& n : r.notes) out += "- " + md_escape(n) + "\n";
  }
  return out;
}

std::string render_json(const Report& r) {
  using nlohmann::json;
  json rows = json::array();
  for (const auto& row : r.rows) rows.push_back(row_json(row, r.opt.alpha));
  json checks = json::array();
  for (const auto& c : r.checks) checks.push_back(check_json(c));
  json j = {
      {"schema", "lockscope.diff"},
      {"version", kJsonVersion},
      {"alpha", r.opt.alpha},
      {"sequential", r.opt.sequential ? json(r.opt.sequential) : json(nullptr)},
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
    j["gate"] = {{"outcome", outcome_name(r.outcome)},
                 {"exit_code", r.exit_code},
                 {"family", r.family},
                 {"looks", r.opt.sequential ? json(r.looks) : json(nullptr)},
                 {"checks", checks}};
  return j.dump(2) + "\n";
}

}  // namespace lockscope::diff
