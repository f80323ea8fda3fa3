// SPDX-License-Identifier: Apache-2.0
// Per-run summaries and the baseline-vs-candidate comparison.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

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

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string scope_name(const Run& r) { return r.scope.empty() ? "all" : r.scope; }

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

struct Extracted {
  enum { kValue, kUnavailable, kMissing } state = kMissing;
  double value = 0;
  std::string reason;
};

Extracted extract(const Run& run, const std::string& key) {
  Extracted e;
  if (is_workload_key(key)) {
    if (!run.workload) {
      e.reason = "no workload in this run";
      return e;
    }
    const WorkloadResult& w = *run.workload;
    if (key == "tput") {
      e.state = Extracted::kValue;
      e.value = w.items_per_sec;
      return e;
    }
    auto it = w.latency_ns.find(key);
    if (it != w.latency_ns.end()) {
      e.state = Extracted::kValue;
      e.value = it->second;
      return e;
    }
    if (w.latency && !w.latency->empty()) {
      e.state = Extracted::kValue;
      e.value = w.latency->percentile(std::stod(key.substr(1)));
      return e;
    }
    e.reason = "workload has no " + key + " latency";
    return e;
  }
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
    if (m.count) {
      e.state = Extracted::kValue;
      e.value = double(*m.count);
    } else if (m.hist) {
      e.state = Extracted::kValue;
      e.value = double(m.hist->count());
    } else {
      e.reason = name + " has no count";
    }
    return e;
  }
  if (stat == "share") {
    if (auto s = m.share()) {
      e.state = Extracted::kValue;
      e.value = *s;
    } else {
      e.reason = name + " has no share (count/total)";
    }
    return e;
  }
  // p50 / p95 / p99
  if (!m.hist) {
    e.reason = name + " has no histogram";
    return e;
  }
  if (m.hist->empty()) {
    e.reason = name + " has no events";
    return e;
  }
  e.state = Extracted::kValue;
  e.value = m.hist->percentile(std::stod(stat.substr(1)));
  return e;
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
  for (const auto& [name, m] : r.metrics) {
    if (!m.ok()) continue;
    if (m.hist)
      for (const char* p : {"p50", "p95", "p99"}) add(name + "." + p);
    if (m.count || m.hist) add(name + ".count");
    if (m.count && m.total) add(name + ".share");
  }
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

const Row* Report::find(const std::string& scope, const std::string& key) const {
  for (const auto& r : rows)
    if (r.scope == scope && r.key == key) return &r;
  return nullptr;
}

Report compare(const Side& base, const Side& cand, const Options& opt,
               const std::vector<std::string>& extra_keys) {
  if (!(opt.alpha > 0 && opt.alpha < 1)) throw usage_error("--alpha must be in (0, 1)");
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
  const auto &wb = fb.workloads, &wc = fc.workloads, &kb = fb.kernels, &kc = fc.kernels;
  const auto &bb = fb.backends, &bc = fc.backends, &hb = fb.hosts, &hc = fc.hosts;
  const auto &cb = fb.cpus, &cc = fc.cpus;
  rep.base_kernel = join_set(kb);
  rep.cand_kernel = join_set(kc);
  if (!wb.empty() && !wc.empty() && wb != wc)
    throw usage_error("mismatched profiles: baseline workload " + join_set(wb) +
                          ", candidate workload " + join_set(wc),
                      "compare runs of the same workload");
  std::set<uint32_t> cpus = cb;
  cpus.insert(cc.begin(), cc.end());
  if (cpus.size() > 1) {
    std::string list;
    for (auto n : cpus) list += (list.empty() ? "" : ", ") + std::to_string(n);
    rep.blockers.push_back("profiles differ in nr_cpus (" + list + "): runs are not comparable");
  }
  if (bb.size() > 1 || bc.size() > 1 || bb != bc)
    rep.lock_blockers.push_back("profiles differ in backend (baseline " + join_set(bb) +
                                ", candidate " + join_set(bc) +
                                "): lock metrics are not comparable");
  if (hb != hc || hb.size() > 1)
    rep.notes.push_back("hostnames differ (baseline " + join_set(hb) + ", candidate " +
                        join_set(hc) + ")");

  for (const auto& [side, g] : {std::pair<const char*, const Grouped*>{"baseline", &gb},
                                std::pair<const char*, const Grouped*>{"candidate", &gc}})
    for (const auto& sc : rep.scopes)
      for (const Run* r : g->runs.at(sc))
        if (r->total_drops() > 0) {
          std::string what = std::string(side) + " " + g->origin.at(r) + " (scope " + sc +
                             ", repetition " + std::to_string(r->repetition) +
                             ") lost data: " + describe_drops(*r) +
                             fmt::format(" = {:.4f}% of its events", 100.0 * r->loss_fraction());
          if (r->loss_fraction() > opt.max_loss)
            rep.lossy.emplace_back(sc, what);
          else
            rep.notes.push_back(what + fmt::format(" (within --max-loss {:g})", opt.max_loss));
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
      row.delta_pct = kNaN;
      if (row.cand.complete()) row.cand_ci = stats::median_ci(row.cand.v, 1.0 - opt.alpha);
      if (row.comparable()) {
        row.delta_pct = stats::delta_pct(row.base.median, row.cand.median);
        uint64_t seed = opt.seed ^ fnv1a(sc + '\0' + key);
        if (row.base.v.size() >= 2 && row.cand.v.size() >= 2) {
          row.ci = stats::bootstrap_delta_pct(row.base.v, row.cand.v, seed, opt.bootstrap,
                                              1.0 - opt.alpha);
          row.mw = stats::mann_whitney(row.base.v, row.cand.v);
          row.tested = true;
        }
      }
      rep.rows.push_back(std::move(row));
    }
  }

  // Notes on sample sizes, once per (n_base, n_cand) pair and scope.
  for (const auto& sc : rep.scopes) {
    size_t nb = gb.runs[sc].size(), nc = gc.runs[sc].size();
    if (nb < 2 || nc < 2) {
      rep.notes.push_back(sc + ": no significance: " + std::to_string(std::min(nb, nc)) + " run" +
                          (std::min(nb, nc) == 1 ? "" : "s") + " on a side (" + std::to_string(nb) +
                          " vs " + std::to_string(nc) + "); " +
                          std::to_string(stats::runs_needed(opt.alpha)) +
                          " runs per side can reach p < " + fmt::format("{:g}", opt.alpha));
    } else if (stats::min_p_value(nb, nc) > opt.alpha) {
      rep.notes.push_back(fmt::format(
          "{}: {} vs {} runs cannot reach p < {:g} (smallest possible p = {:.3g}); {} runs per "
          "side can",
          sc, nb, nc, opt.alpha, stats::min_p_value(nb, nc), stats::runs_needed(opt.alpha)));
    }
  }
  for (const auto& [sc, what] : rep.lossy) rep.notes.push_back(what);
  for (const auto& b : rep.blockers) rep.notes.push_back(b);
  for (const auto& b : rep.lock_blockers) rep.notes.push_back(b);
  return rep;
}

}  // namespace lockscope::diff
