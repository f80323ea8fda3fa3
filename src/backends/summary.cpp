// SPDX-License-Identifier: Apache-2.0
// The short summary `record` prints when it ends. The full rendering
// (histogram bars, per-site tables, pictures) is `lockscope report`.
#include <fmt/format.h>

#include "lockscope/recorder.hpp"

namespace lockscope {

namespace {

std::string ns(double v) {
  if (v < 1e3) return fmt::format("{:.0f}ns", v);
  if (v < 1e6) return fmt::format("{:.1f}us", v / 1e3);
  if (v < 1e9) return fmt::format("{:.1f}ms", v / 1e6);
  return fmt::format("{:.2f}s", v / 1e9);
}

}  // namespace

std::string run_summary(const Run& run, size_t top_sites) {
  std::string o;
  for (const auto& [name, m] : run.metrics) {
    if (!m.ok()) {
      o += fmt::format("{:<32} unavailable: {}\n", name, m.reason);
      continue;
    }
    if (m.hist && !m.hist->empty()) {
      const Histogram& h = *m.hist;
      o += fmt::format("{:<32} n={:<9} p50={:<8} p95={:<8} p99={:<8} max={}\n", name, h.count(),
                       ns(h.percentile(50)), ns(h.percentile(95)), ns(h.percentile(99)),
                       ns(double(h.max())));
    } else if (m.count) {
      std::string share = m.share() ? fmt::format(" ({:.2f}% of {})", *m.share() * 100, *m.total) : "";
      o += fmt::format("{:<32} n={}{}\n", name, *m.count, share);
    } else {
      o += fmt::format("{:<32} n=0\n", name);
    }
    for (size_t i = 0; i < m.by_site.size() && i < top_sites; ++i) {
      const SiteEntry& s = m.by_site[i];
      std::string where = s.site + (s.detail.empty() ? "" : " [" + s.detail + "]") +
                          (s.kind.empty() ? "" : " (" + s.kind + ")");
      if (s.hist && !s.hist->empty())
        o += fmt::format("    {:<56} n={:<8} p95={}\n", where, s.count, ns(s.hist->percentile(95)));
      else
        o += fmt::format("    {:<56} n={}\n", where, s.count);
    }
  }
  uint64_t lost = run.total_drops();
  if (lost) {
    o += fmt::format("LOST DATA: {} events\n", lost);
    for (const auto& [k, v] : run.drops)
      if (v) o += fmt::format("    {:<40} {}\n", k, v);
  } else {
    o += "drops                            none\n";
  }
  return o;
}

std::string program_stats_table(const std::vector<ProgramStats>& after,
                                const std::vector<ProgramStats>& before, double duration_s) {
  std::string o = fmt::format("{:<44} {:>12} {:>10} {:>10} {:>10}\n", "program", "runs", "runs/s",
                              "ns/run", "recursion");
  for (const auto& p : after) {
    uint64_t cnt = p.run_cnt, t = p.run_time_ns, miss = p.recursion_misses;
    for (const auto& b : before)
      if (b.name == p.name) {
        cnt -= std::min(cnt, b.run_cnt);
        t -= std::min(t, b.run_time_ns);
        miss -= std::min(miss, b.recursion_misses);
      }
    o += fmt::format("{:<44} {:>12} {:>10.0f} {:>10.1f} {:>10}\n", p.attach, cnt,
                     duration_s > 0 ? double(cnt) / duration_s : 0.0, cnt ? double(t) / double(cnt) : 0.0,
                     miss);
  }
  return o;
}

}  // namespace lockscope
