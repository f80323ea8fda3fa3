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

enum class Format { kText, kMarkdown, kJson, kSvg, kHtml };

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
};
const std::vector<FormatInfo>& report_formats();
// "text | markdown | json | svg | html", for help texts.
std::string report_format_names();

// bcc-style power-of-two histogram of nanosecond values, fitted to `width`
// columns: "      1024 -> 2047       : 123      |*****     |".
std::string render_ascii_histogram(const Histogram& h, int width, bool color = false);

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
