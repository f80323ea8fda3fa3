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
#include <string>
#include <utility>
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

// Per-site series with bounded cardinality: per metric, at most `top_k`
// sites (by total time, else by events) get their own `site` label, the
// rest are summed as site="other". The inputs are cumulative; the ranking
// follows them: a site that grows past the smallest labelled one by more
// than 2x (hysteresis, so two close sites do not swap every refresh) takes
// its label, and the smaller one moves to "other". Accounting stays exact
// per series: a demoted site's series stops (absent while it is in "other",
// where its later events go); a promoted site's series starts at 0, or goes
// on from the value it stopped at, and what it counted meanwhile stays in
// "other". So no series ever goes down, and the increases of all series
// (across their absences, as Prometheus's range vectors see them) add up to
// the increase of the metric's per-site total. Memory: one entry per
// distinct site, bounded by the BPF site map's capacity.
class SiteLabels {
 public:
  explicit SiteLabels(size_t top_k) : top_k_(top_k) {}
  struct Value {
    uint64_t events = 0;
    uint64_t ns = 0;  // total time, for time metrics
  };
  using Key = std::pair<std::string, std::string>;  // (site, pool kind or "")
  // Cumulative values per key now -> the series to export, key (site, kind)
  // with site "other" for the rest.
  std::map<Key, Value> series(const std::string& metric, const std::map<Key, Value>& now);
  size_t top_k() const { return top_k_; }

 private:
  struct State {
    bool labeled = false;
    Value base;  // the series is value - base (labelled) / adds value - base to "other"
    Value last;  // value at the previous call
    Value kept;  // its labelled series' value when it last lost the label
  };
  struct PerMetric {
    std::map<Key, State> sites;
    std::map<std::string, Value> other_frozen;  // kind -> counts "other" keeps for good
  };
  size_t top_k_;
  std::map<std::string, PerMetric> metrics_;
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
// in a stable order, and the lockscope histogram behind each histogram
// sample: `histograms[family name][i]` is the source of that family's
// metric[i] (its classic buckets are bucket_edges_ns(); a native histogram,
// formats.hpp, is made from the source's own buckets).
struct Exposition {
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, std::vector<Histogram>> histograms;
};
// `labels` keeps the site labels across calls.
Exposition exposition(const Run& run, const ExpositionContext& ctx, SiteLabels& labels);

// "lockscope_" + the Prometheus name of a catalogue metric's main family:
// pool_lock_hold_ns -> lockscope_pool_lock_hold_seconds (histogram),
// wakeups_under_pool_lock -> lockscope_wakeups_under_pool_lock_total.
std::string prometheus_name(const std::string& metric);

}  // namespace lockscope::serve
