// SPDX-License-Identifier: Apache-2.0
// Per-run summaries and the baseline-vs-candidate comparison.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "format.hpp"
#include "internal.hpp"
#include "lockscope/core/error.hpp"
#include "lockscope/core/log.hpp"
#include "lockscope/diff/diff.hpp"

namespace lockscope::diff {

const std::vector<std::string>& shown_keys() {
  static const std::vector<std::string> keys = {
      "tput",
      "p95",
      std::string(metric::kPoolLockHold) + ".p95",
      std::string(metric::kWakeupsUnderPoolLock) + ".count",
      std::string(metric::kWakeupsUnderPoolLock) + ".share",
      std::string(metric::kRqLockNested) + ".count",
  };
  return keys;
}

const std::vector<std::string>& all_metric_stats() {
  static const std::vector<std::string> stats = {"p50", "p90", "p95",   "p99",  "mean",
                                                 "min", "max", "count", "share"};
  return stats;
}

std::vector<std::string> metric_stats(const std::string& name, const Metric& m) {
  std::vector<std::string> out;
  if (!m.ok()) return out;
  // What the catalogue says a metric offers, kept to what this one holds.
  std::vector<std::string> offered;
  if (const MetricInfo* info = find_metric(name)) offered = metric_statistics(*info);
  auto offer = [&](const char* st) {
    if (offered.empty() || std::find(offered.begin(), offered.end(), st) != offered.end())
      out.emplace_back(st);
  };
  if (m.hist)
    for (const char* st : {"p50", "p90", "p95", "p99", "mean", "min", "max"}) offer(st);
  if (m.count || m.hist) offer("count");
  if (m.count && m.total) offer("share");
  return out;
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string scope_name(const Run& r) { return r.scope.empty() ? "all" : r.scope; }

struct Extracted {
  enum { kValue, kUnavailable, kMissing } state = kMissing;
  double value = 0;
  std::string reason;
};

Extracted value_of(double v) {
  Extracted e;
  e.state = Extracted::kValue;
  e.value = v;
  return e;
}

Extracted extract_workload(const Run& run, const std::string& key) {
  Extracted e;
  if (!run.workload) {
    e.reason = "no workload in this run";
    return e;
  }
  const WorkloadResult& w = *run.workload;
  if (key == "tput") return value_of(w.items_per_sec);
  auto it = w.latency_ns.find(key);
  if (it != w.latency_ns.end()) return value_of(it->second);
  if (w.latency && !w.latency->empty())
    return value_of(w.latency->percentile(std::stod(key.substr(1))));
  e.reason = "workload has no " + key + " latency";
  return e;
}

Extracted extract(const Run& run, const std::string& key) {
  if (is_workload_key(key)) return extract_workload(run, key);
  Extracted e;
  auto dot = key.rfind('.');
  std::string name = key.substr(0, dot), stat = key.substr(dot + 1);
  auto it = run.metrics.find(name);
  if (it == run.metrics.end()) {
    e.reason = name + " not recorded";
    return e;
  }
  const Metric& m = it->second;
  if (!m.ok()) {
    e.state = Extracted::kUnavailable;
    e.reason = m.reason.empty() ? name + " unavailable" : name + " unavailable: " + m.reason;
    return e;
  }
  if (stat == "count") {
    if (m.count) return value_of(double(*m.count));
    if (m.hist) return value_of(double(m.hist->count()));
    e.reason = name + " has no count";
    return e;
  }
  if (stat == "share") {
    if (auto s = m.share()) return value_of(*s);
    e.reason = name + " has no share (count/total)";
    return e;
  }
  // p50 ... p99, mean, min, max of the histogram
  if (!m.hist) {
    e.reason = name + " has no histogram";
    return e;
  }
  if (m.hist->empty()) {
    e.reason = name + " has no events";
    return e;
  }
  const Histogram& h = *m.hist;
  if (stat == "mean") return value_of(h.mean());
  if (stat == "min") return value_of(double(h.min()));
  if (stat == "max") return value_of(double(h.max()));
  return value_of(h.percentile(std::stod(stat.substr(1))));
}

Values collect(const std::vector<const Run*>& runs, const std::string& key) {
  Values v;
  v.runs = runs.size();
  for (const Run* r : runs) {
    Extracted e = extract(*r, key);
    if (e.state == Extracted::kValue) {
      v.v.push_back(e.value);
    } else {
      (e.state == Extracted::kUnavailable ? v.unavailable : v.missing)++;
      if (v.reason.empty()) v.reason = e.reason;
    }
  }
  v.median = stats::median(v.v);
  return v;
}

// Runs of one side, grouped by scope, in first-seen scope order.
struct Grouped {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Run*>> runs;
  std::map<const Run*, std::string> origin;  // file of each run
};

Grouped group(const Side& s) {
  Grouped g;
  for (size_t i = 0; i < s.profiles.size(); ++i)
    for (const Run& r : s.profiles[i].runs) {
      std::string sc = scope_name(r);
      if (!g.runs.count(sc)) g.order.push_back(sc);
      g.runs[sc].push_back(&r);
      g.origin[&r] = s.files[i];
    }
  return g;
}

void add_keys(const Run& r, std::vector<std::string>& keys, std::set<std::string>& seen) {
  auto add = [&](const std::string& k) {
    if (seen.insert(k).second) keys.push_back(k);
  };
  if (r.workload) {
    add("tput");
    for (const char* p : {"p50", "p90", "p95", "p99"})
      if (r.workload->latency_ns.count(p) || r.workload->latency) add(p);
  }
  for (const auto& [name, m] : r.metrics)
    for (const auto& st : metric_stats(name, m)) add(name + "." + st);
}

std::string join_set(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + (x.empty() ? "unknown" : x);
  return out;
}

std::string describe_drops(const Run& r) {
  std::string out;
  for (const auto& [name, n] : r.drops)
    if (n) out += (out.empty() ? "" : ", ") + name + "=" + std::to_string(n);
  return out;
}

// Relative comparisons need positive baseline values and no negative ones.
bool ratio_defined(const Values& b, const Values& c) {
  if (!b.complete() || !c.complete()) return false;
  for (double x : b.v)
    if (!(x > 0) || !std::isfinite(x)) return false;
  for (double y : c.v)
    if (!(y >= 0) || !std::isfinite(y)) return false;
  return true;
}

// Metrics unavailable in every run of both sides of a scope: one note.
void note_unavailable(Report& rep, const Grouped& gb, const Grouped& gc) {
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> both;  // reason, scopes
  for (const auto& sc : rep.scopes)
    for (const auto& name : rep.metric_names) {
      std::string reason;
      bool all = true;
      for (const Grouped* g : {&gb, &gc})
        for (const Run* r : g->runs.at(sc)) {
          auto it = r->metrics.find(name);
          if (it == r->metrics.end() || it->second.ok()) {
            all = false;
          } else if (reason.empty()) {
            reason = it->second.reason;
          }
        }
      if (!all) continue;
      auto& e = both[name];
      if (e.first.empty()) e.first = reason;
      e.second.push_back(sc);
    }
  if (both.empty()) return;
  // Metrics with the same reason and scopes share one entry.
  std::vector<std::pair<std::string, std::string>> groups;  // (names, "(scope ...): reason")
  for (const auto& [name, e] : both) {
    std::string tail;
    if (e.second.size() != rep.scopes.size()) {
      std::string scopes;
      for (const auto& sc : e.second) scopes += (scopes.empty() ? "" : ", ") + sc;
      tail += " (scope " + scopes + ")";
    }
    if (!e.first.empty()) tail += ": " + e.first;
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.second == tail; });
    if (it == groups.end())
      groups.emplace_back(name, tail);
    else
      it->first += ", " + name;
  }
  std::string list;
  for (const auto& [names, tail] : groups) list += (list.empty() ? "" : "; ") + names + tail;
  rep.notes.push_back("unavailable in both profiles, left out of the tables: " + list);
}

}  // namespace

bool is_workload_key(const std::string& key) {
  return key == "tput" || key == "p50" || key == "p90" || key == "p95" || key == "p99";
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "PASS";
    case Outcome::kRegression: return "REGRESSION";
    case Outcome::kInconclusive: return "INCONCLUSIVE";
  }
  return "?";
}

double Row::delta_pct() const { return relative ? stats::log_ratio_pct(shift.estimate) : kNaN; }

size_t Side::run_count() const {
  size_t n = 0;
  for (const auto& p : profiles) n += p.runs.size();
  return n;
}

Side load_side(const std::string& path) {
  Side s;
  s.path = path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw usage_error("cannot read " + path + ": " + std::strerror(errno),
                      "pass a profile (.json) or a folder of profiles");
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    if (!d) throw usage_error("cannot read folder " + path + ": " + std::strerror(errno));
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
        s.files.push_back(path + (path.back() == '/' ? "" : "/") + name);
    }
    ::closedir(d);
    std::sort(s.files.begin(), s.files.end());
    if (s.files.empty())
      throw usage_error("folder " + path + " holds no *.json profiles",
                        "record profiles with `lockscope record -o DIR/NAME.json`");
  } else {
    s.files.push_back(path);
  }
  for (const auto& f : s.files) s.profiles.push_back(load_profile(f));
  if (s.run_count() == 0)
    throw usage_error(path + ": no runs in the profile(s)",
                      "was the recording interrupted before the first run finished?");
  return s;
}

Side prefix(const Side& s, size_t runs) {
  Side out;
  out.path = s.path;
  std::map<std::string, size_t> kept;
  for (size_t i = 0; i < s.profiles.size(); ++i) {
    Profile p = s.profiles[i];
    p.runs.clear();
    for (const Run& r : s.profiles[i].runs)
      if (kept[scope_name(r)]++ < runs) p.runs.push_back(r);
    if (p.runs.empty()) continue;
    out.files.push_back(s.files[i]);
    out.profiles.push_back(std::move(p));
  }
  return out;
}

const Row* Report::find(const std::string& scope, const std::string& key) const {
  for (const auto& r : rows)
    if (r.scope == scope && r.key == key) return &r;
  return nullptr;
}

Report compare(const Side& base, const Side& cand, const Options& opt,
               const std::vector<std::string>& extra_keys) {
  if (!(opt.alpha > 0 && opt.alpha < 0.5)) throw usage_error("--alpha must be in (0, 0.5)");
  Report rep;
  rep.opt = opt;
  rep.base_path = base.path;
  rep.cand_path = cand.path;
  rep.base_profiles = base.profiles.size();
  rep.cand_profiles = cand.profiles.size();
  rep.base_runs = base.run_count();
  rep.cand_runs = cand.run_count();

  Grouped gb = group(base), gc = group(cand);
  for (const auto& sc : gb.order)
    if (gc.runs.count(sc)) rep.scopes.push_back(sc);
  for (const auto& sc : gb.order)
    if (!gc.runs.count(sc)) {
      rep.one_sided_scopes.push_back(sc);
      rep.notes.push_back("scope " + sc + " is only in the baseline: not compared");
    }
  for (const auto& sc : gc.order)
    if (!gb.runs.count(sc)) {
      rep.one_sided_scopes.push_back(sc);
      rep.notes.push_back("scope " + sc + " is only in the candidate: not compared");
    }
  if (rep.scopes.empty())
    throw usage_error("mismatched profiles: " + base.path + " and " + cand.path +
                          " have no affinity scope in common",
                      "record both sides with the same --scope list");

  // Facts that must match between the sides.
  struct Facts {
    std::set<std::string> workloads, kernels, backends, hosts;
    std::set<uint32_t> cpus;
  };
  auto facts_of = [](const Side& side) {
    Facts f;
    for (const auto& p : side.profiles) {
      f.kernels.insert(p.kernel_release);
      f.backends.insert(p.backend);
      f.hosts.insert(p.hostname);
      if (p.nr_cpus) f.cpus.insert(p.nr_cpus);
      for (const auto& r : p.runs)
        if (r.workload) f.workloads.insert(r.workload->name);
    }
    return f;
  };
  const Facts fb = facts_of(base), fc = facts_of(cand);
  rep.base_kernel = join_set(fb.kernels);
  rep.cand_kernel = join_set(fc.kernels);
  if (!fb.workloads.empty() && !fc.workloads.empty() && fb.workloads != fc.workloads)
    throw usage_error("mismatched profiles: baseline workload " + join_set(fb.workloads) +
                          ", candidate workload " + join_set(fc.workloads),
                      "compare runs of the same workload");
  std::set<uint32_t> cpus = fb.cpus;
  cpus.insert(fc.cpus.begin(), fc.cpus.end());
  if (cpus.size() > 1) {
    std::string list;
    for (auto n : cpus) list += (list.empty() ? "" : ", ") + std::to_string(n);
    rep.blockers.push_back("profiles differ in nr_cpus (" + list + "): runs are not comparable");
  }
  if (fb.backends.size() > 1 || fc.backends.size() > 1 || fb.backends != fc.backends)
    rep.lock_blockers.push_back("profiles differ in backend (baseline " + join_set(fb.backends) +
                                ", candidate " + join_set(fc.backends) +
                                "): lock metrics are not comparable");
  if (fb.hosts != fc.hosts || fb.hosts.size() > 1)
    rep.notes.push_back("hostnames differ (baseline " + join_set(fb.hosts) + ", candidate " +
                        join_set(fc.hosts) + ")");

  for (const auto& [side, g] : {std::pair<const char*, const Grouped*>{"baseline", &gb},
                                std::pair<const char*, const Grouped*>{"candidate", &gc}})
    for (const auto& sc : rep.scopes)
      for (const Run* r : g->runs.at(sc)) {
        if (r->total_drops() == 0 && r->loss_fraction() == 0) continue;
        std::string run = std::string(side) + " " + g->origin.at(r) + " (scope " + sc +
                          ", repetition " + std::to_string(r->repetition) + ")";
        auto add = [&](const std::string& metric, const std::string& what, double fraction) {
          if (fraction > opt.max_loss)
            rep.lossy.push_back({sc, metric, what});
          else
            rep.notes.push_back(what + fmt::format(" (within --max-loss {:g})", opt.max_loss));
        };
        bool per_metric = false;
        for (const auto& [name, m] : r->metrics) {
          if (!m.loss) continue;
          per_metric = true;
          if (m.loss->fraction > 0)
            add(name,
                fmt::format("{} lost {:.4f}% of {}'s events ({})", run, 100.0 * m.loss->fraction,
                            name, describe_drops(*r)),
                m.loss->fraction);
        }
        if (per_metric && r->total_drops() > 0 && r->loss_fraction() == 0)
          rep.notes.push_back(run + " lost data: " + describe_drops(*r) +
                              ", none of it events of its metrics");
        else if (!per_metric)
          add("",
              run + " lost data: " + describe_drops(*r) +
                  fmt::format(" = {:.4f}% of its events", 100.0 * r->loss_fraction()),
              r->loss_fraction());
      }

  // Keys: the shown ones, whatever either side recorded, and the gated ones.
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& k : shown_keys())
    if (seen.insert(k).second) keys.push_back(k);
  for (const auto& sc : rep.scopes) {
    for (const Run* r : gb.runs[sc]) add_keys(*r, keys, seen);
    for (const Run* r : gc.runs[sc]) add_keys(*r, keys, seen);
  }
  std::set<std::string> names;
  for (const auto* side : {&base, &cand})
    for (const auto& p : side->profiles)
      for (const auto& run : p.runs)
        for (const auto& [name, m] : run.metrics) names.insert(name);
  rep.metric_names.assign(names.begin(), names.end());
  for (const auto& k : extra_keys)
    if (seen.insert(k).second) keys.push_back(k);

  for (const auto& sc : rep.scopes) {
    for (const auto& key : keys) {
      Row row;
      row.scope = sc;
      row.key = key;
      row.base = collect(gb.runs[sc], key);
      row.cand = collect(gc.runs[sc], key);
      row.median_delta_pct =
          row.comparable() ? stats::delta_pct(row.base.median, row.cand.median) : kNaN;
      row.relative = ratio_defined(row.base, row.cand);
      if (row.relative) row.shift = stats::hodges_lehmann_log(row.base.v, row.cand.v, opt.alpha);
      row.share = row.comparable() && fmtx::is_share(key);
      if (row.share) row.points = stats::hodges_lehmann_diff(row.base.v, row.cand.v, opt.alpha);
      if (row.comparable() && row.base.v.size() >= 2 && row.cand.v.size() >= 2) {
        row.mw = stats::mann_whitney(row.cand.v, row.base.v);
        row.tested = true;
      }
      rep.rows.push_back(std::move(row));
    }
  }

  // Notes on sample sizes, once per scope.
  for (const auto& sc : rep.scopes) {
    size_t nb = gb.runs[sc].size(), nc = gc.runs[sc].size();
    double one = stats::min_p_one_sided(nb, nc);
    if (one > opt.alpha)
      rep.notes.push_back(fmt::format(
          "{}: {} vs {} runs cannot reach p <= {:g} in a relative check (smallest one-sided p = "
          "{:.3g}); {} runs per side can",
          sc, nb, nc, opt.alpha, one, stats::runs_needed_one_sided(opt.alpha)));
    else if (nb < 2 || nc < 2)
      rep.notes.push_back(
          fmt::format("{}: {} vs {} runs: no two-sided test of the rows (p, q)", sc, nb, nc));
  }
  note_unavailable(rep, gb, gc);
  for (const auto& l : rep.lossy) rep.notes.push_back(l.what);
  for (const auto& b : rep.blockers) rep.notes.push_back(b);
  for (const auto& b : rep.lock_blockers) rep.notes.push_back(b);
  detail::mark_table(rep);
  return rep;
}

namespace detail {

std::vector<std::string> table_keys(const Report& r, const std::string& scope) {
  std::vector<std::string> keys;
  auto add = [&](const std::string& k) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  };
  // The workload's keys, then per metric (those of shown_keys() first) its
  // p95, count and share: the rows below keep those some run measured.
  std::vector<std::string> metrics;
  for (const auto& k : shown_keys()) {
    if (is_workload_key(k)) {
      add(k);
      continue;
    }
    std::string m = k.substr(0, k.rfind('.'));
    if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
  }
  for (const auto& name : r.metric_names)
    if (std::find(metrics.begin(), metrics.end(), name) == metrics.end()) metrics.push_back(name);
  for (const auto& m : metrics)
    for (const char* st : {"p95", "count", "share"}) add(m + "." + st);
  for (const auto& c : r.checks)
    if (c.scope == scope && !c.key.empty()) add(c.key);
  std::vector<std::string> out;
  for (const auto& k : keys) {
    const Row* row = r.find(scope, k);
    if (!row) continue;
    bool gated = std::any_of(r.checks.begin(), r.checks.end(),
                             [&](const Check& c) { return c.scope == scope && c.key == k; });
    // Rows nobody measured (no value on either side) are left out: those
    // unavailable on both sides are listed in one note, the others were not
    // recorded (e.g. test_workqueue's per-scope runs carry no lock metrics).
    bool measured = !row->base.v.empty() || !row->cand.v.empty();
    if (measured || gated) out.push_back(k);
  }
  return out;
}

void mark_table(Report& r) {
  std::vector<size_t> tested;
  for (auto& row : r.rows) row.in_table = false;
  for (const auto& sc : r.scopes)
    for (const auto& k : table_keys(r, sc))
      for (size_t i = 0; i < r.rows.size(); ++i)
        if (r.rows[i].scope == sc && r.rows[i].key == k) {
          r.rows[i].in_table = true;
          if (r.rows[i].tested) tested.push_back(i);
        }
  std::vector<double> p;
  p.reserve(tested.size());
  for (size_t i : tested) p.push_back(r.rows[i].mw.p);
  std::vector<double> q = stats::benjamini_hochberg(p);
  for (auto& row : r.rows) row.q = 1;
  for (size_t j = 0; j < tested.size(); ++j) r.rows[tested[j]].q = q[j];
}

}  // namespace detail

}  // namespace lockscope::diff
