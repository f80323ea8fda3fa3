// SPDX-License-Identifier: Apache-2.0
// `report --format json`: the numbers of the text report for scripts
// (percentiles with their error bounds, per-site rows), not the raw buckets.
#include <nlohmann/json.hpp>

#include "internal.hpp"
#include "lockscope/core/cost.hpp"

namespace lockscope::output::detail {

using json = nlohmann::json;

namespace {

json hist_summary(const Histogram& h) {
  json j = {{"count", h.count()},
            {"min", h.min()},
            {"max", h.max()},
            {"mean", h.mean()},
            {"sum", h.sum()}};
  json pct = json::object();
  for (const auto& p : kPcts) {
    auto q = h.quantile(p.q);
    pct[p.name] = {{"value", q.value}, {"error_bound", q.error_bound}};
  }
  j["percentiles"] = pct;
  if (h.clamped()) j["clamped"] = h.clamped();
  return j;
}

}  // namespace

std::string render_json(const Profile& p, const Selection& s, const ReportOptions& o) {
  json out = {{"source", o.source},
              {"label", p.label},
              {"kernel_release", p.kernel_release},
              {"patch_state", p.patch_state},
              {"patch_variant", p.patch_variant},
              {"backend", p.backend},
              {"unit", "ns"}};
  json groups = json::array();
  for (const auto& g : s.groups) {
    const Run& run = g.merged;
    json jg = {{"title", g.title},      {"scope", g.scope},
               {"runs", g.run_indices}, {"duration_s", run.duration_s},
               {"drops", run.drops},    {"total_drops", run.total_drops()}};
    if (!g.items_per_sec.empty()) jg["items_per_sec"] = g.items_per_sec;
    if (run.cost) jg["cost"] = cost_to_json(*run.cost);
    json metrics = json::object();
    for (const auto& name : s.metrics) {
      auto it = run.metrics.find(name);
      if (it == run.metrics.end()) continue;
      const Metric& m = it->second;
      json jm = {{"status", m.ok() ? "ok" : "unavailable"}};
      if (!m.ok()) {
        jm["reason"] = m.reason;
        metrics[name] = jm;
        continue;
      }
      if (m.hist) jm["histogram"] = hist_summary(*m.hist);
      if (m.count) jm["count"] = *m.count;
      if (m.total) jm["total"] = *m.total;
      if (auto sh = m.share()) jm["share"] = *sh;
      if (!m.by_kind.empty()) {
        json k = json::object();
        for (const auto& [kind, h] : m.by_kind) k[kind] = hist_summary(h);
        jm["by_kind"] = k;
      }
      if (!m.by_site.empty()) {
        json sites = json::array();
        for (const SiteEntry* e : sorted_sites(m)) {
          json js = {
              {"site", e->site}, {"detail", e->detail}, {"kind", e->kind}, {"count", e->count}};
          if (e->hist) {
            js["total_ns"] = e->hist->sum();
            js["mean_ns"] = e->hist->mean();
            js["p95_ns"] = e->hist->quantile(0.95).value;
          }
          sites.push_back(js);
        }
        jm["by_site"] = sites;
      }
      metrics[name] = jm;
    }
    jg["metrics"] = metrics;
    groups.push_back(jg);
  }
  out["groups"] = groups;
  return out.dump(2) + "\n";
}

}  // namespace lockscope::output::detail
