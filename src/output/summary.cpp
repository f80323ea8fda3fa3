// SPDX-License-Identifier: Apache-2.0
// The short summary `record` prints when it ends. The full rendering
// (histogram bars, per-site tables, pictures) is `lockscope report`.
#include <fmt/format.h>

#include "internal.hpp"
#include "lockscope/output/output.hpp"

namespace lockscope::output {

std::string render_summary(const Run& run, size_t top_sites) {
  std::string o;
  for (const auto& [name, m] : run.metrics) {
    if (!m.ok()) {
      o += fmt::format("{:<32} unavailable: {}\n", name, m.reason);
      continue;
    }
    if (m.hist && !m.hist->empty()) {
      const Histogram& h = *m.hist;
      o += fmt::format("{:<32} n={:<9} p50={:<10} p95={:<10} p99={:<10} max={}\n", name, h.count(),
                       format_ns(h.percentile(50)), format_ns(h.percentile(95)),
                       format_ns(h.percentile(99)), format_ns(double(h.max())));
    } else if (m.count) {
      std::string share =
          m.share() ? fmt::format(" ({} of {})", format_share(*m.share()), *m.total) : "";
      o += fmt::format("{:<32} n={}{}\n", name, *m.count, share);
    } else {
      o += fmt::format("{:<32} n=0\n", name);
    }
    if (std::string l = detail::probe_effect_line(m); !l.empty()) o += "    " + l + "\n";
    if (std::string l = detail::loss_line(m); !l.empty()) o += "    " + l + "\n";
    for (size_t i = 0; i < m.by_site.size() && i < top_sites; ++i) {
      const SiteEntry& s = m.by_site[i];
      std::string where = s.site + (s.detail.empty() ? "" : " [" + s.detail + "]") +
                          (s.kind.empty() ? "" : " (" + s.kind + ")");
      if (s.hist && !s.hist->empty())
        o += fmt::format("    {:<56} n={:<8} p95={}\n", where, s.count,
                         format_ns(s.hist->percentile(95)));
      else
        o += fmt::format("    {:<56} n={}\n", where, s.count);
    }
  }
  if (run.cost) o += fmt::format("{:<32} {}\n", "cost", detail::cost_line(*run.cost));
  uint64_t lost = run.total_drops();
  if (lost) {
    o += fmt::format("LOST DATA: {} events ({:.4f}% of the hooks' events)\n", lost,
                     100.0 * run.loss_fraction());
    for (const auto& [k, v] : run.drops)
      if (v) o += fmt::format("    {:<48} {}\n", k, v);
  } else {
    o += "drops                            none\n";
  }
  return o;
}

}  // namespace lockscope::output
