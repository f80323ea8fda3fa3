// SPDX-License-Identifier: Apache-2.0
// Text and markdown reports, the bcc-style histogram, and interval lines.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "internal.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/stats/stats.hpp"

namespace lockscope::output {
namespace detail {

std::vector<const SiteEntry*> sorted_sites(const Metric& m) {
  std::vector<const SiteEntry*> v;
  for (const auto& s : m.by_site) v.push_back(&s);
  std::stable_sort(v.begin(), v.end(),
                   [](const SiteEntry* a, const SiteEntry* b) { return site_before(*a, *b); });
  return v;
}

bool is_wait_metric(const std::string& name) {
  return name.size() > 8 && name.compare(name.size() - 8, 8, "_wait_ns") == 0;
}

SiteRows site_rows(const std::string& name, const Metric& m, size_t top, size_t* hidden) {
  auto sites = sorted_sites(m);
  auto any = [&](auto pred) { return std::any_of(sites.begin(), sites.end(), pred); };
  bool timed = any([](const SiteEntry* e) { return e->hist.has_value(); });
  bool detail = any([](const SiteEntry* e) { return !e->detail.empty(); });
  bool kind = any([](const SiteEntry* e) { return !e->kind.empty(); });
  // Waits as perf lock contention lists them: per caller, most total wait first.
  bool wait = timed && is_wait_metric(name);
  uint64_t all = 0;
  for (const SiteEntry* e : sites) all += e->count;
  SiteRows t;
  auto col = [&](const char* h, bool left) { t.head.emplace_back(h), t.left.push_back(left); };
  col(wait ? "caller" : "site", true);
  if (detail) col("workqueue", true);
  if (kind) col("kind", true);
  col(wait ? "contended" : "count", false);
  std::vector<const char*> values = wait    ? std::vector<const char*>{"total wait", "max", "mean"}
                                    : timed ? std::vector<const char*>{"total", "mean", "p95"}
                                            : std::vector<const char*>{"share"};
  for (const char* h : values) col(h, false);
  size_t n = top == 0 ? sites.size() : std::min(top, sites.size());
  if (hidden) *hidden = sites.size() - n;
  for (size_t i = 0; i < n; ++i) {
    const SiteEntry& s = *sites[i];
    std::vector<std::string> r = {s.site};
    if (detail) r.push_back(s.detail.empty() ? "-" : s.detail);
    if (kind) r.push_back(s.kind.empty() ? "-" : s.kind);
    r.push_back(format_count(s.count));
    if (!timed) {
      r.push_back(all ? format_share(double(s.count) / double(all)) : "-");
    } else if (!s.hist || s.hist->empty()) {
      r.insert(r.end(), values.size(), "-");
    } else if (wait) {
      r.push_back(format_ns(double(s.hist->sum())));
      r.push_back(format_ns(double(s.hist->max())));
      r.push_back(format_ns(s.hist->mean()));
    } else {
      r.push_back(format_ns(double(s.hist->sum())));
      r.push_back(format_ns(s.hist->mean()));
      r.push_back(format_ns(s.hist->quantile(0.95).value));
    }
    t.rows.push_back(r);
  }
  return t;
}

std::string profile_facts(const Profile& p) {
  std::vector<std::string> parts;
  if (!p.label.empty()) parts.push_back("label " + p.label);
  if (!p.kernel_release.empty()) {
    std::string k = "kernel " + p.kernel_release;
    std::string st = p.patch_state;
    if (!p.patch_variant.empty()) st += (st.empty() ? "" : ", ") + p.patch_variant;
    if (!st.empty()) k += " (" + st + ")";
    parts.push_back(k);
  }
  if (p.nr_cpus) parts.push_back(fmt::format("{} CPUs", p.nr_cpus));
  if (!p.clocksource.empty()) parts.push_back("clock " + p.clocksource);
  if (!p.backend.empty()) parts.push_back("backend " + p.backend);
  if (!p.hostname.empty()) parts.push_back("host " + p.hostname);
  if (!p.created.empty()) parts.push_back(p.created);
  std::string out;
  for (const auto& s : parts) out += (out.empty() ? "" : " · ") + s;
  return out;
}

std::string drops_list(const Run& r) {
  std::string out;
  for (const auto& [k, v] : r.drops)
    if (v) out += (out.empty() ? "" : ", ") + k + " " + format_count(v);
  return out;
}

std::string throughput(const RunGroup& g) {
  if (g.items_per_sec.empty()) return {};
  const auto& v = g.items_per_sec;
  if (v.size() == 1) return format_grouped(v[0]) + " items/s";
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return fmt::format("median {} items/s ({} .. {}, {} runs)", format_grouped(stats::median(v)),
                     format_grouped(*lo), format_grouped(*hi), v.size());
}

Selection select(const Profile& p, const ReportOptions& o) {
  Selection s;
  s.groups = group_runs(p, o.run, o.scope);
  std::vector<std::string> names;
  for (const auto& g : s.groups)
    for (const auto& [n, _] : g.merged.metrics) names.push_back(n);
  std::vector<std::string> all = metric_order(names);
  if (o.metrics.empty()) {
    s.metrics = all;
    return s;
  }
  for (const auto& want : o.metrics) {
    if (std::find(all.begin(), all.end(), want) == all.end()) {
      std::string have;
      for (const auto& n : all) have += (have.empty() ? "" : ", ") + n;
      throw usage_error(
          "metric '" + want + "' is not in this profile",
          have.empty() ? "the selected runs hold no metrics" : "metrics in this profile: " + have);
    }
    if (std::find(s.metrics.begin(), s.metrics.end(), want) == s.metrics.end())
      s.metrics.push_back(want);
  }
  return s;
}

namespace {

struct Style {
  bool on = false;
  std::string bold(const std::string& s) const { return on ? "\033[1m" + s + "\033[0m" : s; }
  std::string red(const std::string& s) const { return on ? "\033[1;31m" + s + "\033[0m" : s; }
  std::string yellow(const std::string& s) const { return on ? "\033[33m" + s + "\033[0m" : s; }
  std::string cyan(const std::string& s) const { return on ? "\033[36m" + s + "\033[0m" : s; }
};

unsigned row_of(uint64_t v) { return v < 2 ? 0u : 63u - unsigned(__builtin_clzll(v)); }
uint64_t row_lo(unsigned k) { return k == 0 ? 0 : uint64_t(1) << k; }
uint64_t row_hi(unsigned k) { return k == 0 ? 1 : (uint64_t(1) << (k + 1)) - 1; }

// "1.02µs": a short human label for narrow terminals.
std::string short_ns(double ns) {
  std::string s = format_ns(ns);
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

// A table with right-aligned numeric columns and left-aligned text columns.
struct Table {
  std::vector<std::string> head;
  std::vector<bool> left;  // per column
  std::vector<std::vector<std::string>> rows;

  // Shrinks the given text columns (in order) so the table fits `width`.
  std::string text(const std::string& indent, int width, const std::vector<size_t>& shrink) const {
    std::vector<size_t> w(head.size());
    for (size_t c = 0; c < head.size(); ++c) {
      w[c] = display_width(head[c]);
      for (const auto& r : rows) w[c] = std::max(w[c], display_width(r[c]));
    }
    auto total = [&] {
      size_t t = indent.size();
      for (size_t c = 0; c < w.size(); ++c) t += w[c] + (c ? 2 : 0);
      return t;
    };
    for (size_t c : shrink) {
      size_t t = total();
      if (t <= size_t(width)) break;
      size_t min_w = std::max<size_t>(display_width(head[c]), 12);
      size_t excess = t - size_t(width);
      if (w[c] > min_w) w[c] -= std::min(excess, w[c] - min_w);
    }
    // Cut columns keep their different values different (cut in the middle,
    // longer where two would look the same).
    std::vector<std::vector<std::string>> cut(rows.size(), std::vector<std::string>(head.size()));
    for (size_t c = 0; c < head.size(); ++c) {
      std::vector<std::string> col;
      for (const auto& r : rows) col.push_back(r[c]);
      std::vector<std::string> t = truncate_distinct(col, w[c]);
      for (size_t i = 0; i < rows.size(); ++i) {
        cut[i][c] = t[i];
        w[c] = std::max(w[c], display_width(t[i]));
      }
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
      std::string l = indent;
      for (size_t c = 0; c < cells.size(); ++c) {
        if (c) l += "  ";
        std::string cell = truncate_middle(cells[c], w[c]);
        l +=
            left[c] ? (c + 1 == cells.size() ? cell : pad_right(cell, w[c])) : pad_left(cell, w[c]);
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    };
    line(head);
    for (const auto& r : cut) line(r);
    return out;
  }

  std::string markdown() const {
    auto esc = [](const std::string& s) {
      std::string o;
      for (char c : s) {
        if (c == '|') o += '\\';
        o += c;
      }
      return o;
    };
    std::string out = "|";
    for (const auto& h : head) out += " " + esc(h) + " |";
    out += "\n|";
    for (size_t c = 0; c < head.size(); ++c) out += left[c] ? " --- |" : " ---: |";
    out += "\n";
    for (const auto& r : rows) {
      out += "|";
      for (const auto& cell : r) out += " " + esc(cell) + " |";
      out += "\n";
    }
    return out;
  }
};

std::string pct_cell(const Histogram& h, double q, bool with_err) {
  auto qv = h.quantile(q);
  std::string s = format_ns(qv.value);
  if (with_err && qv.error_bound > 0) s += " ±" + format_ns(qv.error_bound);
  return s;
}

// Summary table of one histogram: count, min, percentiles (± error), max.
Table summary_table(const Histogram& h, bool err_inline) {
  Table t;
  t.head = {"count", "min"};
  for (const auto& p : kPcts) t.head.emplace_back(p.name);
  t.head.emplace_back("max");
  t.head.emplace_back("mean");
  t.left.assign(t.head.size(), false);
  std::vector<std::string> r = {format_count(h.count()), format_ns(double(h.min()))};
  for (const auto& p : kPcts) r.push_back(pct_cell(h, p.q, err_inline));
  r.push_back(format_ns(double(h.max())));
  r.push_back(format_ns(h.mean()));
  t.rows.push_back(r);
  if (!err_inline) {
    std::vector<std::string> e = {"", ""};
    bool any = false;
    for (const auto& p : kPcts) {
      double eb = h.quantile(p.q).error_bound;
      any |= eb > 0;
      e.push_back(eb > 0 ? "±" + format_ns(eb) : "±0");
    }
    e.emplace_back("");
    e.emplace_back("");
    if (any) t.rows.push_back(e);
  }
  return t;
}

// The summary as "name value" lines, for terminals too narrow for the table.
std::string summary_list(const Histogram& h) {
  std::string o =
      "  count " + format_count(h.count()) + "\n  min   " + format_ns(double(h.min())) + "\n";
  for (const auto& p : kPcts)
    o += "  " + pad_right(p.name, 5) + " " + pct_cell(h, p.q, true) + "\n";
  o += "  max   " + format_ns(double(h.max())) + "\n  mean  " + format_ns(h.mean()) + "\n";
  return o;
}

Table kind_table(const Metric& m) {
  Table t;
  t.head = {"pool kind", "count", "p50", "p95", "p99", "max"};
  t.left = {true, false, false, false, false, false};
  for (const auto& [k, h] : m.by_kind)
    t.rows.push_back({k, format_count(h.count()), pct_cell(h, 0.5, false), pct_cell(h, 0.95, false),
                      pct_cell(h, 0.99, false), format_ns(double(h.max()))});
  return t;
}

Table site_table(const std::string& name, const Metric& m, size_t top, size_t* hidden) {
  SiteRows sr = site_rows(name, m, top, hidden);
  Table t;
  t.head = std::move(sr.head);
  t.left = std::move(sr.left);
  t.rows = std::move(sr.rows);
  return t;
}

// "count 1,234 of 5,678 wakeups (21.7%)" for event metrics.
std::string event_line(const std::string& name, const Metric& m) {
  std::string s = "count " + format_count(*m.count);
  if (m.total) {
    const MetricInfo* info = find_metric(name);
    std::string what = info && info->share_of ? std::string(" ") + info->share_of : "";
    s += " of " + format_count(*m.total) + what;
    if (auto sh = m.share()) s += " (" + format_share(*sh) + ")";
  }
  return s;
}

// The columns perf lock contention users look for first, for the wait
// metrics: "contended 120 · total wait 1.20 ms · max 19.9 µs · mean 10.0 µs".
std::string wait_line(const std::string& name, const Metric& m) {
  if (!is_wait_metric(name) || !m.hist || m.hist->empty()) return {};
  const Histogram& h = *m.hist;
  return fmt::format("contended {} · total wait {} · max {} · mean {}", format_count(h.count()),
                     format_ns(double(h.sum())), format_ns(double(h.max())), format_ns(h.mean()));
}

// -v: each program's share of the cost, and the terms of the time per hold.
Table cost_table(const Cost& c) {
  Table t;
  t.head = {"program", "runs", "runs/s", "ns/run"};
  t.left = {true, false, false, false};
  for (const auto& p : c.programs)
    t.rows.push_back({p.attach, format_count(p.runs), format_grouped(p.runs_per_s),
                      p.ns_per_run ? fmt::format("{:.1f}", *p.ns_per_run) : "-"});
  return t;
}

std::string hold_terms(const Cost& c) {
  if (!c.added_per_hold_ns) return {};
  return fmt::format(
      "per pool->lock hold: fexit lock {} + fentry unlock {} + inside the hold {} = {}",
      format_ns(c.lock_ns), format_ns(c.unlock_ns), format_ns(c.inside_ns),
      format_ns(*c.added_per_hold_ns));
}

}  // namespace

std::string render_text(const Profile& p, const Selection& s, const ReportOptions& o) {
  Style st{o.color};
  std::string out;
  out += st.bold("lockscope report" + (o.source.empty() ? "" : ": " + o.source)) + "\n";
  std::string facts = profile_facts(p);
  if (!facts.empty()) out += facts + "\n";
  for (const auto& l : refused_lines(p, o.verbose)) out += st.yellow(l) + "\n";
  for (const auto& u : unavailable_metrics(s)) out += st.yellow(unavailable_line(u)) + "\n";
  if (s.groups.empty()) out += "\nthe profile holds no runs\n";
  for (const auto& g : s.groups) {
    const Run& run = g.merged;
    std::string head = "== " + g.title;
    if (run.duration_s > 0) head += fmt::format(" · {:.1f} s", run.duration_s);
    head += " ==";
    out += "\n" + st.bold(head) + "\n";
    if (run.total_drops() > 0)
      out += st.red(fmt::format("DROPS: {} events lost ({}): counts and percentiles undercount",
                                format_count(run.total_drops()), drops_list(run))) +
             "\n";
    if (!g.items_per_sec.empty())
      out += "workload " + g.workload_name + ": " + throughput(g) + "\n";
    if (run.cost) {
      const Cost& c = *run.cost;
      out += (c.ok ? std::string("cost  ") : st.yellow("cost  ")) + cost_line(c) + "\n";
      if (o.verbose && c.ok) {
        out += "\n" + cost_table(c).text("  ", o.width, {0});
        if (std::string l = hold_terms(c); !l.empty()) out += "  " + l + "\n";
      }
    }
    for (const auto& name : s.metrics) {
      auto it = run.metrics.find(name);
      if (it == run.metrics.end()) continue;
      const Metric& m = it->second;
      if (!m.ok()) continue;  // named once at the top
      std::string desc = metric_description(name);
      out += "\n";
      out += st.bold(name) + (desc.empty() ? "" : ": " + desc) + "\n";
      // A wait's count is its "contended" (no second count line).
      std::string wait = wait_line(name, m);
      if (m.count && wait.empty()) out += "  " + event_line(name, m) + "\n";
      if (!wait.empty()) out += "  " + wait + "\n";
      if (m.hist) {
        const Histogram& h = *m.hist;
        if (h.empty()) {
          out += "  no events\n";
        } else {
          std::string t = summary_table(h, false).text("  ", o.width, {});
          if (display_width(t.substr(0, t.find('\n'))) > size_t(o.width)) t = summary_list(h);
          out += t;
          if (h.clamped())
            out += fmt::format("  {} values above the histogram range (in the top bucket)\n",
                               format_count(h.clamped()));
          out += "\n" + render_ascii_histogram(h, o.width, o.color, o.units);
        }
      }
      if (std::string l = probe_effect_line(m); !l.empty()) out += "  " + l + "\n";
      if (std::string l = loss_line(m); !l.empty()) out += "  " + st.red(l) + "\n";
      if (!m.by_kind.empty()) out += "\n" + kind_table(m).text("  ", o.width, {});
      if (!m.by_site.empty()) {
        size_t hidden = 0;
        Table t = site_table(name, m, o.top_sites, &hidden);
        out += "\n" + t.text("  ", o.width, {1, 0});
        if (hidden) out += fmt::format("  ... {} more sites (--top 0 shows all)\n", hidden);
      }
    }
  }
  return out;
}

std::string render_markdown(const Profile& p, const Selection& s, const ReportOptions& o) {
  std::string out =
      "# lockscope report" + (o.source.empty() ? "" : ": `" + o.source + "`") + "\n\n";
  std::string facts = profile_facts(p);
  if (!facts.empty()) out += facts + "\n\n";
  std::vector<std::string> notes = refused_lines(p, o.verbose);
  for (const auto& u : unavailable_metrics(s)) notes.push_back(unavailable_line(u));
  for (const auto& l : notes) out += "- " + l + "\n";
  if (!notes.empty()) out += "\n";
  for (const auto& g : s.groups) {
    const Run& run = g.merged;
    out += "## " + g.title;
    if (run.duration_s > 0) out += fmt::format(" · {:.1f} s", run.duration_s);
    out += "\n\n";
    if (run.total_drops() > 0)
      out += fmt::format("> **DROPS: {} events lost** ({}): counts and percentiles undercount.\n\n",
                         format_count(run.total_drops()), drops_list(run));
    if (!g.items_per_sec.empty())
      out += "Workload `" + g.workload_name + "`: " + throughput(g) + "\n\n";
    if (run.cost) {
      const Cost& c = *run.cost;
      out += "Cost: " + cost_line(c) + "\n\n";
      if (o.verbose && c.ok) {
        out += cost_table(c).markdown() + "\n";
        if (std::string l = hold_terms(c); !l.empty()) out += l + "\n\n";
      }
    }
    for (const auto& name : s.metrics) {
      auto it = run.metrics.find(name);
      if (it == run.metrics.end()) continue;
      const Metric& m = it->second;
      if (!m.ok()) continue;  // named once at the top
      std::string desc = metric_description(name);
      out += "### `" + name + "`" + (desc.empty() ? "" : ": " + desc) + "\n\n";
      std::string wait = wait_line(name, m);
      if (m.count && wait.empty()) out += event_line(name, m) + "\n\n";
      if (!wait.empty()) out += wait + "\n\n";
      if (m.hist) {
        if (m.hist->empty()) {
          out += "No events.\n\n";
        } else {
          out += summary_table(*m.hist, true).markdown() + "\n";
          out += "```text\n" + render_ascii_histogram(*m.hist, 80, false, o.units) + "```\n\n";
        }
      }
      if (std::string l = probe_effect_line(m); !l.empty()) out += l + "\n\n";
      if (std::string l = loss_line(m); !l.empty()) out += "**" + l + "**\n\n";
      if (!m.by_kind.empty()) out += kind_table(m).markdown() + "\n";
      if (!m.by_site.empty()) {
        size_t hidden = 0;
        out += site_table(name, m, 0, &hidden).markdown() + "\n";
      }
    }
  }
  return out;
}

}  // namespace detail

using namespace detail;

std::string render_ascii_histogram(const Histogram& h, int width, bool color, Units units) {
  if (h.empty()) return {};
  std::map<unsigned, uint64_t> rows;
  for (const auto& [idx, n] : h.buckets())
    if (n) rows[row_of(Histogram::lower_bound(idx))] += n;
  if (rows.empty()) return {};
  unsigned first = rows.begin()->first, last = rows.rbegin()->first;
  uint64_t maxc = 0;
  for (const auto& [_, n] : rows) maxc = std::max(maxc, n);
  size_t cw = std::max<size_t>(8, std::to_string(maxc).size());

  // Row bounds: raw nanoseconds like bcc (--units ns, upper bound inclusive),
  // divided into a fixed unit, or each in the unit of its magnitude (default;
  // also when the terminal is too narrow for the raw numbers).
  double div = units == Units::kUs ? 1e3 : units == Units::kMs ? 1e6 : units == Units::kS ? 1e9 : 1;
  const char* unit = units == Units::kUs   ? "µs"
                     : units == Units::kMs ? "ms"
                     : units == Units::kS  ? "s"
                                           : "ns";
  bool human = units == Units::kAuto;
  auto lo_label = [&](unsigned k) {
    if (human) return short_ns(double(row_lo(k)));
    if (units == Units::kNs) return std::to_string(row_lo(k));
    return fmt::format("{:g}", double(row_lo(k)) / div);
  };
  auto hi_label = [&](unsigned k) {
    if (human) return short_ns(double(row_hi(k) + 1));
    if (units == Units::kNs) return std::to_string(row_hi(k));
    return fmt::format("{:g}", double(row_hi(k) + 1) / div);
  };
  auto label_width = [&] {
    size_t w = 0;
    for (unsigned k = first; k <= last; ++k)
      w = std::max({w, display_width(lo_label(k)), display_width(hi_label(k))});
    return w;
  };
  size_t lw = label_width();
  size_t indent = 5;
  auto prefix = [&] { return indent + lw + 4 + lw + 3 + cw + 2; };
  const size_t kMinBar = 10, kMaxBar = 60;
  if (prefix() + kMinBar + 1 > size_t(width)) indent = 0;
  if (prefix() + kMinBar + 1 > size_t(width)) {
    human = true;
    lw = label_width();
    cw = std::max<size_t>(5, std::to_string(maxc).size());
  }
  size_t bar = size_t(width) > prefix() + 1 ? size_t(width) - prefix() - 1 : 1;
  bar = std::clamp<size_t>(bar, 1, kMaxBar);

  Style st{color};
  std::string out = std::string(indent, ' ') + pad_right(human ? "range" : unit, lw + 4 + lw) +
                    " : " + pad_right("count", cw) + (bar + 1 >= 13 ? "  distribution" : "") + "\n";
  for (unsigned k = first; k <= last; ++k) {
    uint64_t n = rows.count(k) ? rows[k] : 0;
    size_t stars = maxc ? size_t(std::llround(double(n) * double(bar) / double(maxc))) : 0;
    if (n > 0 && stars == 0) stars = 1;  // a rare tail stays visible
    out += std::string(indent, ' ') + pad_left(lo_label(k), lw) + " -> " +
           pad_right(hi_label(k), lw) + " : " + pad_right(std::to_string(n), cw) + " |" +
           st.cyan(std::string(stars, '*')) + std::string(bar - stars, ' ') + "|\n";
  }
  return out;
}

std::string render_report(const Profile& p, const ReportOptions& o) {
  Selection s = select(p, o);
  for (const auto& f : report_formats())
    if (f.format == o.format) return f.render(p, s, o);
  return {};
}

// ---- interval lines ------------------------------------------------------------

namespace {
const char* const kIntervalFmt = "{:>8} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9} {:>8}\n";

std::string count_of(const Run& r, const char* name) {
  auto it = r.metrics.find(name);
  if (it == r.metrics.end() || !it->second.ok()) return "-";
  const Metric& m = it->second;
  if (m.count) return std::to_string(*m.count);
  if (m.hist) return std::to_string(m.hist->count());
  return "-";
}

std::string p95_of(const Run& r, const char* name) {
  auto it = r.metrics.find(name);
  if (it == r.metrics.end() || !it->second.ok() || !it->second.hist) return "-";
  if (it->second.hist->empty()) return "-";
  return format_ns(it->second.hist->quantile(0.95).value);
}

std::string share_of(const Run& r, const char* name) {
  auto it = r.metrics.find(name);
  if (it == r.metrics.end() || !it->second.ok()) return "-";
  auto s = it->second.share();
  return s ? format_share(*s) : "-";
}
}  // namespace

std::string render_interval_header() {
  return fmt::format(kIntervalFmt, "time(s)", "holds", "hold p95", "wakeups", "share", "rq-nested",
                     "waits", "wait p95", "drops");
}

std::string render_interval_line(double t_s, const Run& d) {
  // fmt pads by code points, so "µs" columns line up.
  return fmt::format(kIntervalFmt, fmt::format("{:.1f}", t_s), count_of(d, metric::kPoolLockHold),
                     p95_of(d, metric::kPoolLockHold), count_of(d, metric::kWakeupsUnderPoolLock),
                     share_of(d, metric::kWakeupsUnderPoolLock), count_of(d, metric::kRqLockNested),
                     count_of(d, metric::kPoolLockWait), p95_of(d, metric::kPoolLockWait),
                     std::to_string(d.total_drops()));
}

}  // namespace lockscope::output
