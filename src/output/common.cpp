// SPDX-License-Identifier: Apache-2.0
// Formats, terminal facts, units, and the selection/merging of runs shared by
// every renderer.
#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "internal.hpp"
#include "lockscope/core/cost.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/output/output.hpp"

namespace lockscope::output {

const std::vector<FormatInfo>& report_formats() {
  static const std::vector<FormatInfo> formats = {
      {Format::kText, "text", "terminal report: percentiles, histograms, sites",
       detail::render_text},
      {Format::kMarkdown, "markdown", "the text report as Markdown tables",
       detail::render_markdown},
      {Format::kJson, "json", "summary with derived percentiles (not the profile format)",
       detail::render_json},
      {Format::kSvg, "svg", "one self-contained picture", detail::render_svg},
      {Format::kHtml, "html", "one page: the pictures and tables", detail::render_html},
      {Format::kFolded, "folded",
       "folded stacks, one 'root;...;leaf value' line per stack (flamegraph.pl's input)",
       detail::render_folded},
      {Format::kPprof, "pprof",
       "gzipped profile.proto (go tool pprof), samples contentions/count and delay/nanoseconds",
       detail::render_pprof, true},
  };
  return formats;
}

const FormatInfo& format_info(Format f) {
  for (const auto& i : report_formats())
    if (i.format == f) return i;
  return report_formats().front();
}

std::string report_format_names() {
  std::string out;
  for (const auto& f : report_formats()) out += (out.empty() ? "" : " | ") + std::string(f.name);
  return out;
}

Format parse_format(const std::string& name) {
  if (name == "md") return Format::kMarkdown;
  for (const auto& f : report_formats())
    if (name == f.name) return f.format;
  throw usage_error("unknown output format '" + name + "'", "use one of: " + report_format_names());
}

int terminal_width(int fd) {
  int cols = 0;
  if (isatty(fd)) {
    struct winsize ws {};
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) cols = ws.ws_col;
  }
  if (cols == 0) {
    if (const char* c = std::getenv("COLUMNS")) {
      char* end = nullptr;
      long v = std::strtol(c, &end, 10);
      if (end != c && *end == '\0' && v > 0 && v < 10000) cols = int(v);
    }
  }
  if (cols == 0) cols = 80;
  return std::max(cols, 20);
}

bool use_color(int fd) {
  const char* nc = std::getenv("NO_COLOR");
  if (nc != nullptr && nc[0] != '\0') return false;
  return isatty(fd) != 0;
}

namespace {

std::string site_key(const SiteEntry& s) { return s.site + '\x1f' + s.detail + '\x1f' + s.kind; }

void merge_metric(Metric& into, const Metric& m, bool first) {
  if (first) {
    into = m;
    return;
  }
  if (!m.ok()) return;  // keep what the other runs measured
  if (!into.ok()) {
    into = m;
    return;
  }
  if (m.hist) {
    if (into.hist)
      into.hist->merge(*m.hist);
    else
      into.hist = m.hist;
  }
  if (m.count) into.count = into.count.value_or(0) + *m.count;
  if (m.total) into.total = into.total.value_or(0) + *m.total;
  if (m.probe_effect) {
    ProbeEffect& e = into.probe_effect.emplace(into.probe_effect.value_or(ProbeEffect{}));
    e.removed_ns += m.probe_effect->removed_ns;
    e.runs += m.probe_effect->runs;
  }
  if (m.loss) {
    MetricLoss& l = into.loss.emplace(into.loss.value_or(MetricLoss{}));
    l.drops += m.loss->drops;
    l.recursion = std::max(l.recursion, m.loss->recursion);
    l.fraction = std::max(l.fraction, m.loss->fraction);
  }
  for (const auto& [k, h] : m.by_kind) into.by_kind[k].merge(h);
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < into.by_site.size(); ++i) pos[site_key(into.by_site[i])] = i;
  for (const auto& s : m.by_site) {
    auto it = pos.find(site_key(s));
    if (it == pos.end()) {
      pos[site_key(s)] = into.by_site.size();
      into.by_site.push_back(s);
      continue;
    }
    SiteEntry& d = into.by_site[it->second];
    d.count += s.count;
    if (s.hist) {
      if (d.hist)
        d.hist->merge(*s.hist);
      else
        d.hist = s.hist;
    }
  }
}

// Whether counts of repeated runs differ by more than their noise: the
// largest more than twice the smallest (repetitions of one workload differ
// by tens of percent, not by factors), and by more than three Poisson
// standard deviations of the pair (3·sqrt(max + min)), so that small counts
// (2 and 5) do not count as a spread.
bool counts_spread(uint64_t lo, uint64_t hi) {
  return double(hi) > 2.0 * double(lo) &&
         double(hi - lo) > 3.0 * std::sqrt(double(hi) + double(lo));
}

// ": pool_lock_wait_ns n 116 … 5,092": the metric whose event counts spread
// the most across the runs, or "" where none spreads beyond the noise.
std::string count_spread(const std::vector<const Run*>& runs) {
  std::vector<std::string> names;
  for (const auto& [n, _] : runs.front()->metrics) names.push_back(n);
  names = metric_order(names);
  std::string out;
  double worst = 0;
  for (const auto& name : names) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const Run* r : runs) {
      auto it = r->metrics.find(name);
      if (it == r->metrics.end() || !it->second.ok()) {
        lo = UINT64_MAX;  // not in every run: no spread to speak of
        break;
      }
      lo = std::min(lo, it->second.events());
      hi = std::max(hi, it->second.events());
    }
    if (lo == UINT64_MAX || !counts_spread(lo, hi)) continue;
    double ratio = lo ? double(hi) / double(lo) : HUGE_VAL;
    if (ratio <= worst) continue;
    worst = ratio;
    out = fmt::format(": {} n {} … {}", name, format_count(lo), format_count(hi));
  }
  return out;
}

}  // namespace

Run merge_runs(const std::vector<const Run*>& runs) {
  Run out;
  if (runs.empty()) return out;
  out.scope = runs.front()->scope;
  out.repetition = runs.front()->repetition;
  out.boot = runs.size() == 1 ? runs.front()->boot : -1;
  if (runs.size() == 1) out.workload = runs.front()->workload;
  std::map<std::string, bool> seen;
  for (const Run* r : runs) {
    out.duration_s += r->duration_s;
    for (const auto& [name, m] : r->metrics) {
      bool first = !seen[name];
      seen[name] = true;
      merge_metric(out.metrics[name], m, first);
    }
    for (const auto& [k, v] : r->counters) out.counters[k] += v;
    for (const auto& [k, v] : r->drops) out.drops[k] += v;
    if (r->cost) {
      if (out.cost)
        merge_cost(*out.cost, *r->cost);
      else
        out.cost = r->cost;
    }
  }
  derive_cost(out);  // with the merged hold metric
  return out;
}

Run merge_scope(const Profile& p, const std::string& scope) {
  std::vector<const Run*> runs;
  for (const auto& r : p.runs)
    if (scope.empty() || r.scope == scope) runs.push_back(&r);
  return merge_runs(runs);
}

std::vector<RunGroup> group_runs(const Profile& p, std::optional<uint32_t> run,
                                 const std::string& scope) {
  std::vector<RunGroup> groups;
  if (p.runs.empty()) return groups;
  if (run) {
    if (*run >= p.runs.size())
      throw usage_error(
          fmt::format("--run {} is out of range: the profile holds {} run(s)", *run, p.runs.size()),
          fmt::format("use --run 0..{}", p.runs.size() - 1));
    const Run& r = p.runs[*run];
    if (!scope.empty() && r.scope != scope)
      throw usage_error(fmt::format("run {} is of scope '{}', not '{}'", *run, r.scope, scope),
                        "drop --scope or pick another --run");
    RunGroup g;
    g.scope = r.scope;
    g.title = r.scope.empty() ? fmt::format("run {}", *run)
                              : fmt::format("run {} (scope {})", *run, r.scope);
    g.run_indices = {*run};
    g.merged = merge_runs({&r});
    if (r.workload) {
      g.items_per_sec.push_back(r.workload->items_per_sec);
      g.workload_name = r.workload->name;
    }
    groups.push_back(std::move(g));
    return groups;
  }
  std::vector<std::string> order;
  std::map<std::string, std::vector<size_t>> by_scope;
  for (size_t i = 0; i < p.runs.size(); ++i) {
    const std::string& s = p.runs[i].scope;
    if (!scope.empty() && s != scope) continue;
    if (!by_scope.count(s)) order.push_back(s);
    by_scope[s].push_back(i);
  }
  if (order.empty()) {
    std::string have;
    for (const auto& r : p.runs)
      if (have.find("'" + r.scope + "'") == std::string::npos)
        have += (have.empty() ? "" : ", ") + ("'" + r.scope + "'");
    throw usage_error("no run of scope '" + scope + "' in the profile",
                      "scopes in this profile: " + have);
  }
  for (const auto& s : order) {
    RunGroup g;
    g.scope = s;
    g.run_indices = by_scope[s];
    std::vector<const Run*> rs;
    for (size_t i : g.run_indices) {
      rs.push_back(&p.runs[i]);
      if (const auto& w = p.runs[i].workload) {
        g.items_per_sec.push_back(w->items_per_sec);
        if (g.workload_name.empty()) g.workload_name = w->name;
      }
    }
    g.merged = merge_runs(rs);
    std::string base = s.empty() ? "recording" : "scope " + s;
    g.title = rs.size() == 1
                  ? base
                  : fmt::format("{} ({} runs merged{})", base, rs.size(), count_spread(rs));
    groups.push_back(std::move(g));
  }
  return groups;
}

Units parse_units(const std::string& name) {
  if (name == "auto") return Units::kAuto;
  if (name == "ns") return Units::kNs;
  if (name == "us" || name == "µs") return Units::kUs;
  if (name == "ms") return Units::kMs;
  if (name == "s") return Units::kS;
  throw usage_error("unknown units '" + name + "'", "use one of: auto, ns, us, ms, s");
}

namespace detail {

std::vector<std::string> refused_lines(const Profile& p, bool verbose) {
  std::vector<std::string> out;
  const auto& r = p.hooks_refused;
  if (verbose || r.size() == 1) {
    for (const auto& h : r)
      out.push_back("hook refused: " + h.name + (h.reason.empty() ? "" : " (" + h.reason + ")"));
    return out;
  }
  if (r.empty()) return out;
  std::vector<std::string> reasons;
  for (const auto& h : r)
    if (std::find(reasons.begin(), reasons.end(), h.reason) == reasons.end())
      reasons.push_back(h.reason);
  std::string why = reasons.size() == 1
                        ? (reasons[0].empty() ? "" : ": " + reasons[0])
                        : fmt::format(" for {} reasons, e.g. {}", reasons.size(), reasons[0]);
  out.push_back(fmt::format("{} hooks refused{}; -v lists them", r.size(), why));
  return out;
}

std::vector<Unavailable> unavailable_metrics(const Selection& s) {
  std::vector<Unavailable> out;
  for (const auto& name : s.metrics)
    for (const auto& g : s.groups) {
      auto it = g.merged.metrics.find(name);
      if (it == g.merged.metrics.end() || it->second.ok()) continue;
      const std::string& why = it->second.reason;
      auto u = std::find_if(out.begin(), out.end(), [&](const auto& x) { return x.reason == why; });
      if (u == out.end()) u = out.insert(out.end(), Unavailable{{}, why});
      if (std::find(u->metrics.begin(), u->metrics.end(), name) == u->metrics.end())
        u->metrics.push_back(name);
    }
  return out;
}

std::string unavailable_line(const Unavailable& u) {
  std::string names;
  for (const auto& m : u.metrics) names += (names.empty() ? "" : ", ") + m;
  return "unavailable: " + names + (u.reason.empty() ? "" : ": " + u.reason);
}

std::string probe_effect_line(const Metric& m) {
  if (!m.probe_effect || m.events() == 0) return {};
  const ProbeEffect& e = *m.probe_effect;
  double n = double(m.events());
  return fmt::format(
      "lockscope's own programs inside: {:.2f} runs, {} per event ({} in all), taken out of the "
      "values",
      double(e.runs) / n, format_ns(double(e.removed_ns) / n), format_ns(double(e.removed_ns)));
}

std::string cost_line(const Cost& c) {
  if (!c.ok) return "unavailable: " + c.reason;
  std::string what = fmt::format("{} hook runs/s, {} of CPU", format_grouped(c.hook_runs_per_s),
                                 format_share(c.cpu_fraction));
  std::string window = fmt::format("sampled {:.1f} s, {}", c.window_s,
                                   c.source.empty() ? std::string(kCostSource) : c.source);
  if (c.added_per_hold_ns)
    return fmt::format("{}, +{} per pool->lock hold ({})", what, format_ns(*c.added_per_hold_ns),
                       window);
  return fmt::format("{} ({}); per pool->lock hold: unavailable ({})", what, window, c.hold_reason);
}

std::string loss_line(const Metric& m) {
  if (!m.loss || m.loss->fraction <= 0) return {};
  std::string what;
  if (m.loss->drops) what = format_count(m.loss->drops) + " events lost";
  if (m.loss->recursion > 0)
    what += (what.empty() ? "" : ", ") +
            fmt::format("{} of its programs' runs skipped", format_share(m.loss->recursion));
  return "LOST " + format_share(m.loss->fraction) + " of its events: " + what;
}

}  // namespace detail

}  // namespace lockscope::output
