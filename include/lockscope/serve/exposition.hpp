// SPDX-License-Identifier: Apache-2.0
// A run as Prometheus metric families (`lockscope serve`, docs/prometheus.md):
// pure, no kernel and no network. Names and help come from the metric
// catalogue (lockscope/core/metrics.hpp); a `*_ns` time metric becomes the
// classic histogram lockscope_<name>_seconds, an event count the counter
// lockscope_<name>_total, every loss reason a lockscope_lost_events_total
// series; an unavailable metric is absent and listed in
// lockscope_metric_unavailable{metric,reason} instead, never exported as 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "lockscope/core/histogram.hpp"
#include "lockscope/core/profile.hpp"
#include "lockscope/record/session.hpp"

namespace lockscope::serve {

// The `le` boundaries of every exported histogram, in nanoseconds: two per
// power of two (2^k and 1.5 * 2^k) from 128 ns to 2^34 ns (~17.2 s), 55 in
// all, then +Inf. Each is the lower edge of one of lockscope's log-linear
// buckets (Histogram::lower_bound(Histogram::index_of(edge)) == edge), so
// the exported cumulative counts are exact: bucket `le` counts the values
// below that edge (integer nanoseconds: <= edge - 1 ns).
const std::vector<uint64_t>& bucket_edges_ns();

// Cumulative counts of `h` at bucket_edges_ns() (values < edge), as
// prometheus-cpp buckets with upper bounds in seconds, sum in seconds.
// The +Inf bucket is the histogram's count (the serializer writes it).
void fill_histogram(const Histogram& h, prometheus::ClientMetric::Histogram& out);

// Per-site labels with bounded cardinality: per metric, at most `top_k`
// sites get their own `site` label, the rest are summed as site="other".
// Labels are sticky for the life of the exposition (so counters never move
// from one series to another and every series only grows): while slots are
// free, new sites take them in the order of the sites (most total time
// first, then most events, SiteEntry order); once they are full, every new
// site is `other`. Memory: top_k keys per metric.
class SiteLabels {
 public:
  explicit SiteLabels(size_t top_k) : top_k_(top_k) {}
  // The label of each entry of `sites` (sorted, as in a Metric) for `metric`.
  std::vector<std::string> assign(const std::string& metric, const std::vector<SiteEntry>& sites);
  size_t top_k() const { return top_k_; }

 private:
  size_t top_k_;
  std::map<std::string, std::set<std::string>> labeled_;  // metric -> site keys
};

// What the exposition says about the recording besides its run.
struct ExpositionContext {
  const Profile* meta = nullptr;  // kernel release, patch state, backend, clocksource, label
  double start_time_s = 0;        // Unix time the recording started
  // Kernel BPF stats of each program since the start (--stats only: without
  // them the kernel does not count runs or time, and nothing is exported).
  const std::vector<ProgramStats>* programs = nullptr;
};

// The families of one cumulative run (counts since the recording started),
// in a stable order. `labels` keeps the site labels across calls.
std::vector<prometheus::MetricFamily> exposition(const Run& run, const ExpositionContext& ctx,
                                                 SiteLabels& labels);

// "lockscope_" + the Prometheus name of a catalogue metric's main family:
// pool_lock_hold_ns -> lockscope_pool_lock_hold_seconds (histogram),
// wakeups_under_pool_lock -> lockscope_wakeups_under_pool_lock_total.
std::string prometheus_name(const std::string& metric);

// The families as Prometheus text exposition format 0.0.4.
std::string to_text(const std::vector<prometheus::MetricFamily>& families);

}  // namespace lockscope::serve
