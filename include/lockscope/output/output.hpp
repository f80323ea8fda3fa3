// SPDX-License-Identifier: Apache-2.0
// What users see: `report` (text, markdown, json, svg, html), the live
// interval lines of `record -i`, and the pictures of `diff`. Every renderer is
// a pure function of a profile and options, so tests compare golden strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lockscope/core/format.hpp"
#include "lockscope/core/histogram.hpp"
#include "lockscope/core/metrics.hpp"
#include "lockscope/core/profile.hpp"

namespace lockscope::output {

enum class Format { kText, kMarkdown, kJson, kSvg, kHtml, kFolded, kPprof };

// A name of report_formats() (or "md" for markdown); throws usage_error.
Format parse_format(const std::string& name);

// ---- terminal ---------------------------------------------------------------

// Columns of the terminal on `fd` (TIOCGWINSZ) when it is a terminal, else the
// COLUMNS environment variable, else 80. Never below 20.
int terminal_width(int fd);
// Colour only when `fd` is a terminal and NO_COLOR is unset (https://no-color.org).
bool use_color(int fd);

// ---- selecting runs -----------------------------------------------------------

// The runs shown together: one explicit run (--run N), or all repetitions of
// one scope merged (histograms merged, counts and drops summed).
struct RunGroup {
  std::string title;  // "scope cache", "run 3 (scope cache)", "recording"
  std::string scope;
  std::vector<size_t> run_indices;  // into Profile::runs
  Run merged;
  std::vector<double> items_per_sec;  // one per run with a workload result
  std::string workload_name;          // of the first run with a workload result
};

// Groups by scope in order of first appearance. `run` selects one run by its
// index in the profile; `scope` keeps only runs of that scope. Throws
// usage_error when the selection matches nothing.
std::vector<RunGroup> group_runs(const Profile& p, std::optional<uint32_t> run = std::nullopt,
                                 const std::string& scope = {});
// Merges runs into one (the caller's order; scope of the first).
Run merge_runs(const std::vector<const Run*>& runs);
// The runs of `p` of `scope` (empty: every run), merged: one side of a diff.
Run merge_scope(const Profile& p, const std::string& scope);

// Units of histogram row bounds: following the magnitude of each row
// (256ns, 1.02µs, 4.19ms), or fixed (bcc's layout with --units ns).
enum class Units { kAuto, kNs, kUs, kMs, kS };
// "auto" | "ns" | "us" (or "µs") | "ms" | "s"; throws usage_error.
Units parse_units(const std::string& name);

// ---- stacks -------------------------------------------------------------------

// What a stack's value is: the time at the site (sum of its histogram, ns)
// where the site is timed, else its event count (`--weight time`); or always
// the event count (`--weight count`).
enum class Weight { kTime, kCount };
// "time" | "count"; throws usage_error.
Weight parse_weight(const std::string& name);

// One stack of one metric, root first: a site "callee <- caller" is the
// stack [caller, callee]; "pool->lock from X" is [X].
struct StackSample {
  std::string metric;
  std::vector<std::string> frames;  // root first
  uint64_t count = 0;               // events
  uint64_t ns = 0;                  // time at the site (0 where untimed)
  bool timed = false;               // the site has a histogram
};
// The stacks of `metrics` (empty: every metric with sites) of one run,
// equal stacks of a metric merged (pool kinds), in metric display order then
// by frames.
std::vector<StackSample> run_stacks(const Run& r, const std::vector<std::string>& metrics = {});
// The metrics of `r` that have sites, in display order.
std::vector<std::string> stacked_metrics(const Run& r);
// The metrics with sites in either run, in display order.
std::vector<std::string> stacked_metrics(const Run& a, const Run& b);
// What stderr should say about where the stacks come from: "" for
// `record --stacks` profiles, else that they are short stacks of sites.
std::string stacks_note(const Profile& p);

// diff --format folded: "stack baseline candidate" lines (difffolded.pl's
// output, flamegraph.pl's input), the union of both sides' stacks, 0 where
// a side has none; the metric is the root frame when several are written.
struct FoldedDiffOptions {
  std::vector<std::string> metrics;  // empty: every metric with sites on either side
  std::string scope;                 // only this scope; empty: all runs
  Weight weight = Weight::kTime;
};
std::string render_folded_diff(const Profile& base, const Profile& cand,
                               const FoldedDiffOptions& o = {});

// ---- report -----------------------------------------------------------------

struct ReportOptions {
  Format format = Format::kText;
  std::vector<std::string> metrics;  // empty: all metrics in the profile
  std::optional<uint32_t> run;       // one run by index
  std::string scope;                 // only this scope
  int width = 80;                    // terminal columns (text format)
  bool color = false;                // ANSI colour (text format)
  size_t top_sites = 20;             // site rows per metric in text; 0 = all
  std::string source;                // shown in the title (e.g. the file name)
  Weight weight = Weight::kTime;     // folded and pprof
  bool verbose = false;              // every refused hook on its own line (-v)
  Units units = Units::kAuto;        // histogram row bounds (text, markdown)
};

// Throws usage_error for metric names absent from the profile.
std::string render_report(const Profile& p, const ReportOptions& o);

namespace detail {
struct Selection;
}
// The format catalogue: every report format, the name --format takes, and
// its renderer. A new format is a row here and a renderer in src/output.
struct FormatInfo {
  Format format;
  const char* name;
  const char* description;
  std::string (*render)(const Profile& p, const detail::Selection& s, const ReportOptions& o);
  bool binary = false;  // not for a terminal: `report` refuses to write it there
};
const std::vector<FormatInfo>& report_formats();
// The catalogue row of a format.
const FormatInfo& format_info(Format f);
// "text | markdown | json | svg | html | folded | pprof", for help texts.
std::string report_format_names();

// bcc-style power-of-two histogram of nanosecond values, fitted to `width`
// columns. Units::kNs: "      1024 -> 2047       : 123      |*****     |";
// kAuto: each row's bounds in the unit of their magnitude ("1.02µs -> 2.05µs",
// the upper bound exclusive); kUs/kMs/kS: bounds divided into that unit.
std::string render_ascii_histogram(const Histogram& h, int width, bool color = false,
                                   Units units = Units::kAuto);

// ---- live interval output (record -i) -----------------------------------------

// The short summary `record` prints at its end: per metric n, p50/p95/p99
// (or count and share), the top sites, and the drops.
std::string render_summary(const Run& run, size_t top_sites = 3);

// Column header for render_interval_line, one line ending in '\n'.
std::string render_interval_header();
// One line per interval: time, then counts and p95 of the main metrics of the
// interval's delta run ("-" where a metric is unavailable), then drops.
std::string render_interval_line(double t_s, const Run& delta);

// ---- pictures of a comparison (diff) --------------------------------------------

struct DiffPictureOptions {
  std::vector<std::string> metrics;  // empty: every time metric in either profile
  std::string scope;                 // only this scope; empty: all
  std::string base_label;            // legend; default: the profile's label or "baseline"
  std::string cand_label;            // default: the profile's label or "candidate"
};

// Baseline vs candidate CDFs (log x) per metric and scope, one self-contained
// SVG. Series: <polyline class="series cdf base|cand" id="cdf-base|cand-SCOPE-METRIC">.
std::string render_diff_svg(const Profile& base, const Profile& cand,
                            const DiffPictureOptions& o = {});
// One HTML page: the same pictures inline plus a percentile table with deltas.
std::string render_diff_html(const Profile& base, const Profile& cand,
                             const DiffPictureOptions& o = {});

}  // namespace lockscope::output
