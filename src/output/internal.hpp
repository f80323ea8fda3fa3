// SPDX-License-Identifier: Apache-2.0
// Pieces shared by the renderers of src/output (not a public interface).
#pragma once

#include <string>
#include <vector>

#include "lockscope/core/text.hpp"
#include "lockscope/output/output.hpp"

namespace lockscope::output::detail {

// What one report shows: the run groups and the metrics, in display order.
struct Selection {
  std::vector<RunGroup> groups;
  std::vector<std::string> metrics;
};
Selection select(const Profile& p, const ReportOptions& o);

// Sites sorted by total time (sum of the site histogram), then count, then name.
std::vector<const SiteEntry*> sorted_sites(const Metric& m);
// pool_lock_wait_ns, rq_lock_wait_ns: shown with total wait, max and mean.
bool is_wait_metric(const std::string& name);
// A metric's site table: sorted (most total time, then count, first), the
// first `top` rows (0: all; `hidden` gets the rest's number). Waits are
// per caller with contended, total wait, max and mean; other timed sites
// with count, total, mean, p95; counted sites with count and share.
struct SiteRows {
  std::vector<std::string> head;
  std::vector<bool> left;  // text columns
  std::vector<std::vector<std::string>> rows;
};
SiteRows site_rows(const std::string& name, const Metric& m, size_t top, size_t* hidden);
// "kernel 7.3.4 (post-patch, merged) · 4 CPUs · backend fentry", etc.
std::string profile_facts(const Profile& p);
// The refused hooks: one line each with `verbose` or when there is one, else
// one summary line ("14 hooks refused: REASON; -v lists them").
std::vector<std::string> refused_lines(const Profile& p, bool verbose);
// The selected metrics unavailable in some group, named once per reason.
struct Unavailable {
  std::vector<std::string> metrics;
  std::string reason;
};
std::vector<Unavailable> unavailable_metrics(const Selection& s);
// "unavailable: a, b: REASON"
std::string unavailable_line(const Unavailable& u);
// "ringbuf_full 3, map_full 1"
std::string drops_list(const Run& r);
// "lockscope's own programs inside: 7.10 runs, 1.92 µs per event (...)", or
// "" when the metric carries no probe effect.
std::string probe_effect_line(const Metric& m);
// "412,345 hook runs/s, 2.1% of CPU, +1.30 µs per pool->lock hold (sampled
// 1.0 s, kernel BPF stats)", or "unavailable: REASON".
std::string cost_line(const Cost& c);
// "LOST 0.2% of its events: ...", or "" when it lost nothing.
std::string loss_line(const Metric& m);
// "45,678 items/s" or "median 45,678 items/s (40,000 .. 50,000, 5 runs)"
std::string throughput(const RunGroup& g);
// Percentiles shown everywhere, in order.
struct Pct {
  const char* name;
  double q;
};
inline constexpr Pct kPcts[] = {{"p50", 0.50}, {"p90", 0.90}, {"p95", 0.95}, {"p99", 0.99}};

// Where a marker label goes: at the marker's x (right of it, or left where it
// would pass x_max and fits right of x_min), in the lowest row (at `baseline`, rows `row_h`
// upwards) where it is clear of every label already placed; labels are placed from the left.
// `widths`: each label's text width. In the order of `xs`.
struct LabelSpot {
  double x = 0, y = 0;      // text anchor point
  bool end_anchor = false;  // text-anchor="end"
  int row = 0;
  double left = 0, right = 0;  // the text's extent
};
std::vector<LabelSpot> place_labels(const std::vector<double>& xs,
                                    const std::vector<double>& widths, double x_min, double x_max,
                                    double baseline, double row_h);

// An identifier-safe form of a name (for SVG ids).
std::string slug(const std::string& s);

std::string render_text(const Profile& p, const Selection& s, const ReportOptions& o);
std::string render_markdown(const Profile& p, const Selection& s, const ReportOptions& o);
std::string render_json(const Profile& p, const Selection& s, const ReportOptions& o);
std::string render_svg(const Profile& p, const Selection& s, const ReportOptions& o);
std::string render_html(const Profile& p, const Selection& s, const ReportOptions& o);
std::string render_folded(const Profile& p, const Selection& s, const ReportOptions& o);
std::string render_pprof(const Profile& p, const Selection& s, const ReportOptions& o);

// The runs of a selection merged into one (stacks and pprof show them together).
Run merged_selection(const Profile& p, const Selection& s);
// "a;b;c": frames joined as folded stacks write them (';' and newlines in a
// frame become ':' and ' ').
std::string folded_stack(const StackSample& s, bool metric_root);
// The stacks a stack format writes: the selection's metrics that have sites
// (usage_error when a named one has none, or none has any), and whether the
// metric is their root frame (several metrics).
std::vector<StackSample> selected_stacks(const Profile& p, const Selection& s,
                                         const ReportOptions& o, bool* metric_root);
// The value of a stack under a weight.
uint64_t stack_value(const StackSample& s, Weight w);

}  // namespace lockscope::output::detail
