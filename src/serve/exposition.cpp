// SPDX-License-Identifier: Apache-2.0
// A run as Prometheus metric families: names and help from the metric
// catalogue, classic histograms on exact bucket edges, sticky top-K sites.
#include "lockscope/serve/exposition.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include "lockscope/core/metrics.hpp"
#include "lockscope/core/text.hpp"

namespace lockscope::serve {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kNsPerSecond = 1e9;
constexpr const char* kOther = "other";

// pool_lock_hold_ns -> pool_lock_hold; names without the unit stay.
std::string base_name(const std::string& metric) {
  return ends_with(metric, "_ns") ? metric.substr(0, metric.size() - 3) : metric;
}

// A time metric without `_ns` in its name counts events first (e.g. rq-lock
// acquisitions under pool->lock) and times them too: it gets both families.
bool counts_events(const MetricInfo& info) {
  return info.kind == MetricKind::kCount || !ends_with(info.name, "_ns");
}

ClientMetric sample(double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  m.gauge.value = value;
  return m;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// Sites name kernel functions; an address the symbolizer could not name
// ("0xffffffff81234567") is a raw kernel address and never leaves the host.
std::string sanitize_site(const std::string& site) {
  std::string out;
  for (size_t i = 0; i < site.size();) {
    bool hex_start = site.compare(i, 2, "0x") == 0 && i + 2 < site.size() &&
                     std::isxdigit(static_cast<unsigned char>(site[i + 2])) &&
                     (i == 0 || !std::isalnum(static_cast<unsigned char>(site[i - 1])));
    if (!hex_start) {
      out += site[i++];
      continue;
    }
    i += 2;
    while (i < site.size() && std::isxdigit(static_cast<unsigned char>(site[i]))) ++i;
    out += "[unknown]";
  }
  return out;
}

void add_site_families(const MetricInfo& info, const Metric& m, SiteLabels& labels,
                       std::vector<MetricFamily>& out) {
  if (m.by_site.empty() || labels.top_k() == 0) return;
  std::map<SiteLabels::Key, SiteLabels::Value> now;
  bool timed = false;
  for (const auto& e : m.by_site) {
    SiteLabels::Value& v = now[{sanitize_site(e.site), e.kind}];
    v.events += e.count;
    if (e.hist) {
      v.ns += e.hist->sum();
      timed = true;
    }
  }
  std::string base = "lockscope_" + base_name(info.name) + "_by_site";
  std::string what = info.description;
  MetricFamily events =
      family(base + "_total", "Events by site (top sites, the rest as site=\"other\"): " + what,
             MetricType::Counter);
  MetricFamily seconds = family(base + "_seconds_total",
                                "Seconds by site (top sites, the rest as site=\"other\"): " + what,
                                MetricType::Counter);
  for (const auto& [key, v] : labels.series(info.name, now)) {
    std::vector<ClientMetric::Label> l{{"site", key.first}};
    if (!key.second.empty()) l.push_back({"kind", key.second});
    events.metric.push_back(sample(double(v.events), l));
    if (timed) seconds.metric.push_back(sample(double(v.ns) / kNsPerSecond, l));
  }
  out.push_back(std::move(events));
  if (timed) out.push_back(std::move(seconds));
}

void add_metric_families(const MetricInfo& info, const Metric& m, SiteLabels& labels,
                         std::vector<MetricFamily>& out,
                         std::map<std::string, std::vector<Histogram>>& sources) {
  if (counts_events(info) && m.count) {
    out.push_back(family(std::string("lockscope_") + info.name + "_total",
                         std::string(info.description), MetricType::Counter));
    out.back().metric.push_back(sample(double(*m.count)));
  }
  if (info.kind == MetricKind::kCount && m.total && info.share_of) {
    out.push_back(family(
        std::string("lockscope_") + info.name + "_denominator_total",
        std::string("All ") + info.share_of + ": the denominator of the share of " + info.name,
        MetricType::Counter));
    out.back().metric.push_back(sample(double(*m.total)));
  }
  if (info.kind == MetricKind::kTime && m.hist) {
    MetricFamily h = family("lockscope_" + base_name(info.name) + "_seconds",
                            std::string(info.description) + " (seconds)", MetricType::Histogram);
    std::vector<Histogram>& src = sources[h.name];
    auto add = [&h, &src](const Histogram& hist, std::vector<ClientMetric::Label> l) {
      ClientMetric c;
      c.label = std::move(l);
      fill_histogram(hist, c.histogram);
      h.metric.push_back(std::move(c));
      src.push_back(hist);
    };
    // The kinds partition the histogram: sum by (le) gives the whole.
    if (m.by_kind.empty()) {
      add(*m.hist, {});
    } else {
      for (const auto& [kind, hist] : m.by_kind) add(hist, {{"kind", kind}});
    }
    out.push_back(std::move(h));
  }
  add_site_families(info, m, labels, out);
}

}  // namespace

const std::vector<uint64_t>& bucket_edges_ns() {
  static const std::vector<uint64_t> edges = [] {
    std::vector<uint64_t> e;
    for (unsigned k = 7; k < 34; ++k) {
      e.push_back(uint64_t(1) << k);
      e.push_back((uint64_t(3) << k) / 2);
    }
    e.push_back(uint64_t(1) << 34);
    return e;
  }();
  return edges;
}

void fill_histogram(const Histogram& h, ClientMetric::Histogram& out) {
  out.sample_count = h.count();
  out.sample_sum = double(h.sum()) / kNsPerSecond;
  out.bucket.clear();
  const auto& buckets = h.buckets();
  auto it = buckets.begin();
  uint64_t cumulative = 0;
  for (uint64_t edge : bucket_edges_ns()) {
    uint32_t first_above = Histogram::index_of(edge);
    for (; it != buckets.end() && it->first < first_above; ++it) cumulative += it->second;
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = double(edge) / kNsPerSecond;
    out.bucket.push_back(b);
  }
}

namespace {

using Value = SiteLabels::Value;

// What ranks a site: its time, else its events.
uint64_t score(const Value& v) { return v.ns ? v.ns : v.events; }

Value minus(const Value& a, const Value& b) {
  return {a.events > b.events ? a.events - b.events : 0, a.ns > b.ns ? a.ns - b.ns : 0};
}

void add(Value& a, const Value& b) {
  a.events += b.events;
  a.ns += b.ns;
}

}  // namespace

std::map<SiteLabels::Key, Value> SiteLabels::series(const std::string& metric,
                                                    const std::map<Key, Value>& now) {
  PerMetric& pm = metrics_[metric];
  // Candidates, largest first (ties by key: deterministic).
  std::vector<const std::pair<const Key, Value>*> ranked;
  ranked.reserve(now.size());
  for (const auto& kv : now) ranked.push_back(&kv);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
    return score(a->second) > score(b->second);
  });
  std::set<Key> labeled;
  for (const auto& [key, st] : pm.sites)
    if (st.labeled) labeled.insert(key);
  auto smallest = [&] {
    const Key* min = nullptr;
    uint64_t min_score = 0;
    for (const Key& k : labeled) {
      auto it = now.find(k);
      uint64_t sc = it == now.end() ? 0 : score(it->second);
      if (!min || sc < min_score) {
        min = &k;
        min_score = sc;
      }
    }
    return std::make_pair(min ? *min : Key{}, min_score);
  };
  for (const auto* kv : ranked) {
    if (labeled.count(kv->first)) continue;
    if (labeled.size() < top_k_) {
      labeled.insert(kv->first);
      continue;
    }
    if (top_k_ == 0) break;
    auto [min_key, min_score] = smallest();
    if (score(kv->second) <= 2 * min_score) break;  // ranked: no later one beats it either
    labeled.erase(min_key);
    labeled.insert(kv->first);
  }
  std::map<Key, Value> out;
  for (const auto& [key, v] : now) {
    bool fresh = pm.sites.count(key) == 0;
    State& st = pm.sites[key];
    bool want = labeled.count(key) > 0;
    if (fresh) {
      st.labeled = want;  // base 0: all it counted goes to its series
    } else if (want && !st.labeled) {
      add(pm.other_frozen[key.second], minus(v, st.base));  // "other" keeps what it had
      st.base = minus(v, st.kept);  // its series goes on from where it stopped (0 if new)
      st.labeled = true;
    } else if (!want && st.labeled) {
      st.kept = minus(st.last, st.base);  // its series stops here
      st.base = st.last;                  // "other" takes what comes after
      st.labeled = false;
    }
    st.last = v;
    if (st.labeled) {
      out[key] = minus(v, st.base);
    } else {
      Value& o = out[{kOther, key.second}];
      add(o, minus(v, st.base));
    }
  }
  for (auto& [key, st] : pm.sites)  // a site gone from the maps gives up its label
    if (st.labeled && now.count(key) == 0) {
      st.kept = minus(st.last, st.base);
      st.base = st.last;
      st.labeled = false;
    }
  for (const auto& [kind, frozen] : pm.other_frozen) add(out[{kOther, kind}], frozen);
  return out;
}

std::string prometheus_name(const std::string& metric) {
  const MetricInfo* info = find_metric(metric);
  if (info && info->kind == MetricKind::kTime) return "lockscope_" + base_name(metric) + "_seconds";
  return "lockscope_" + metric + "_total";
}

Exposition exposition(const Run& run, const ExpositionContext& ctx, SiteLabels& labels) {
  Exposition result;
  std::vector<MetricFamily> out;
  if (ctx.meta) {
    const Profile& p = *ctx.meta;
    out.push_back(family("lockscope_info",
                         "The recording: tool version, kernel, workqueue patch state, backend, "
                         "clocksource (value 1)",
                         MetricType::Gauge));
    out.back().metric.push_back(sample(1, {{"version", p.tool_version},
                                           {"kernel_release", p.kernel_release},
                                           {"patch_state", p.patch_state},
                                           {"patch_variant", p.patch_variant},
                                           {"backend", p.backend},
                                           {"clocksource", p.clocksource},
                                           {"label", p.label}}));
    out.push_back(family("lockscope_hooks_attached", "BPF programs attached", MetricType::Gauge));
    out.back().metric.push_back(sample(double(p.hooks_attached.size())));
    out.push_back(family("lockscope_hooks_refused",
                         "Hooks the load plan refused or the kernel did not attach",
                         MetricType::Gauge));
    out.back().metric.push_back(sample(double(p.hooks_refused.size())));
  }
  out.push_back(family("lockscope_start_time_seconds",
                       "Unix time the recording started: every counter counts from here",
                       MetricType::Gauge));
  out.back().metric.push_back(sample(ctx.start_time_s));

  MetricFamily unavailable =
      family("lockscope_metric_unavailable",
             "Metrics this host cannot measure, with the reason (value 1); they are absent, "
             "not zero",
             MetricType::Gauge);
  MetricFamily loss = family("lockscope_metric_loss_ratio",
                             "Share of a metric's events lost since the start (counted drops, "
                             "or the largest share of its programs' runs the kernel skipped)",
                             MetricType::Gauge);
  std::vector<MetricFamily> measured;
  for (const auto& info : metric_catalogue()) {
    auto it = run.metrics.find(info.name);
    if (it == run.metrics.end()) {
      unavailable.metric.push_back(
          sample(1, {{"metric", info.name}, {"reason", "not in this session's load plan"}}));
      continue;
    }
    const Metric& m = it->second;
    if (!m.ok()) {
      unavailable.metric.push_back(sample(1, {{"metric", info.name}, {"reason", m.reason}}));
      continue;
    }
    if (m.loss) loss.metric.push_back(sample(m.loss->fraction, {{"metric", info.name}}));
    add_metric_families(info, m, labels, measured, result.histograms);
  }
  out.push_back(std::move(unavailable));
  for (auto& f : measured) out.push_back(std::move(f));
  out.push_back(std::move(loss));

  MetricFamily lost =
      family("lockscope_lost_events_total",
             "Events lockscope lost, by reason (map full, filter full, ...)", MetricType::Counter);
  MetricFamily misses = family("lockscope_recursion_misses_total",
                               "Program runs the kernel skipped because the program was already "
                               "running on that CPU, by hook",
                               MetricType::Counter);
  static const std::string kMissPrefix = "recursion_misses.";
  for (const auto& [name, n] : run.drops) {
    if (name.rfind(kMissPrefix, 0) == 0)
      misses.metric.push_back(sample(double(n), {{"hook", name.substr(kMissPrefix.size())}}));
    else
      lost.metric.push_back(sample(double(n), {{"reason", name}}));
  }
  out.push_back(std::move(lost));
  out.push_back(std::move(misses));
  auto ev = run.counters.find("hook_events");
  if (ev != run.counters.end()) {
    out.push_back(family("lockscope_hook_events_total", "Runs of lockscope's BPF programs",
                         MetricType::Counter));
    out.back().metric.push_back(sample(double(ev->second)));
  }
  if (ctx.programs) {
    MetricFamily runs = family("lockscope_program_runs_total",
                               "Runs of each lockscope BPF program (kernel BPF stats, --stats)",
                               MetricType::Counter);
    MetricFamily secs = family("lockscope_program_run_seconds_total",
                               "Time inside each lockscope BPF program (kernel BPF stats, --stats)",
                               MetricType::Counter);
    for (const auto& p : *ctx.programs) {
      runs.metric.push_back(sample(double(p.run_cnt), {{"hook", p.attach}}));
      secs.metric.push_back(sample(double(p.run_time_ns) / kNsPerSecond, {{"hook", p.attach}}));
    }
    out.push_back(std::move(runs));
    out.push_back(std::move(secs));
  }
  // A family without samples says nothing (no recursion misses, nothing
  // unavailable): leave it out.
  for (auto& f : out)
    if (!f.metric.empty()) result.families.push_back(std::move(f));
  return result;
}

}  // namespace lockscope::serve
