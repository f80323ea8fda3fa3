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

#include "lockscope/error.hpp"
#include "lockscope/output.hpp"

namespace lockscope::output {

Format parse_format(const std::string& name) {
  if (name == "text") return Format::kText;
  if (name == "markdown" || name == "md") return Format::kMarkdown;
  if (name == "json") return Format::kJson;
  if (name == "svg") return Format::kSvg;
  if (name == "html") return Format::kHtml;
  throw usage_error("unknown output format '" + name + "'",
                    "use one of: text, markdown, json, svg, html");
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

std::string format_ns(double ns) {
  if (!std::isfinite(ns)) return "?";
  double a = std::fabs(ns);
  if (a < 1000.0) {
    // Integer nanoseconds are exact; half values come from bucket midpoints.
    if (std::fabs(ns - std::round(ns)) < 1e-9) return fmt::format("{:.0f} ns", ns);
    return fmt::format("{:.1f} ns", ns);
  }
  static const struct {
    double div;
    const char* unit;
  } units[] = {{1e3, "µs"}, {1e6, "ms"}, {1e9, "s"}};
  size_t u = 0;
  while (u + 1 < std::size(units) && a >= units[u + 1].div * 0.9995) ++u;
  double v = ns / units[u].div;
  double av = std::fabs(v);
  // Three significant digits; guard against rounding up to the next decade.
  if (av >= 99.95) return fmt::format("{:.0f} {}", v, units[u].unit);
  if (av >= 9.995) return fmt::format("{:.1f} {}", v, units[u].unit);
  return fmt::format("{:.2f} {}", v, units[u].unit);
}

std::string format_count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  int lead = int(digits.size() % 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (int(i) - lead) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_share(double fraction) {
  double pct = fraction * 100.0;
  if (pct != 0.0 && std::fabs(pct) < 0.1) return fmt::format("{:.3f}%", pct);
  return fmt::format("{:.1f}%", pct);
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
  }
  return out;
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
    g.title = rs.size() == 1 ? base : fmt::format("{} ({} runs merged)", base, rs.size());
    groups.push_back(std::move(g));
  }
  return groups;
}

static const char* const kKnownOrder[] = {metric::kPoolLockHold, metric::kWakeupsUnderPoolLock,
                                          metric::kRqLockNested, metric::kPoolLockWait,
                                          metric::kRqLockWait,   metric::kWqQueueLatency,
                                          metric::kWqExec};

std::vector<std::string> metric_order(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const char* k : kKnownOrder)
    if (std::find(names.begin(), names.end(), k) != names.end()) out.emplace_back(k);
  std::vector<std::string> rest;
  for (const auto& n : names)
    if (std::find(out.begin(), out.end(), n) == out.end() &&
        std::find(rest.begin(), rest.end(), n) == rest.end())
      rest.push_back(n);
  std::sort(rest.begin(), rest.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::string metric_description(const std::string& name) {
  static const std::map<std::string, std::string> d = {
      {metric::kPoolLockHold, "workqueue pool->lock hold time"},
      {metric::kWakeupsUnderPoolLock, "task wakeups issued while a pool->lock is held"},
      {metric::kRqLockNested, "run-queue lock acquisitions nested under a pool->lock"},
      {metric::kPoolLockWait, "wait to acquire a contended pool->lock"},
      {metric::kRqLockWait, "wait to acquire a contended run-queue lock"},
      {metric::kWqQueueLatency, "work item latency from queue_work to execute_start"},
      {metric::kWqExec, "work function execution time"},
  };
  auto it = d.find(name);
  return it == d.end() ? std::string() : it->second;
}

}  // namespace lockscope::output
